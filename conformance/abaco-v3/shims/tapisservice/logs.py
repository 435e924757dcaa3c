"""Stand-in for tapisservice.logs: plain `logging` loggers."""
import logging


def get_logger(name, **_kw):
    return logging.getLogger(name)
