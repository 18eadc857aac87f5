"""Server-rendered pages, one router per area of the console."""
