"""Notice templates: KIND.LANG.j2, each with a subject and a body block."""
