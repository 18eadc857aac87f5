"""promoflow: promotion, demotion and grading cycles from declarative rule packs."""

__version__ = "0.1.0"
