"""gaitlab: Trendelenburg gait analysis (contralateral pelvic drop) from ordinary video."""

__version__ = "0.1.0"
