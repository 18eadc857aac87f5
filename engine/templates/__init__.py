"""Jinja2 templates shipped with promoflow."""
