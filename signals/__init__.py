r"""Signals: watch the news for weak signals of disruption and write weekly digests.

Data flow (see ``pipeline.py``, the only place the stages are wired together)::

    sources.yaml -> fetch -> extract -> analyse -> match -> score -> report -> reports/
                     \________________ store (SQLAlchemy) ________________/
    scenarios.yaml --------------------------^ (compiled once per run)
"""

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())
