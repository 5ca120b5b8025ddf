"""The weekly digest: its data (:mod:`.model`, filled in by the pipeline from the store) and
its renderings (:mod:`.render` names them: Markdown, HTML, JSON, the index page and the Atom
feed, one module each).

Everything that came from a feed is untrusted: the HTML template autoescapes, the Markdown
template escapes every value for Markdown, and only http/https URLs ever become links."""

from signals.report.model import Digest, DigestArticle, DigestRupture, DigestSentence, ItemActivity
from signals.report.render import (
    digest_from_json,
    digest_to_dict,
    render_html,
    render_json,
    render_markdown,
    safe_url,
    write_digest,
)

__all__ = [
    "Digest",
    "DigestArticle",
    "DigestRupture",
    "DigestSentence",
    "ItemActivity",
    "digest_from_json",
    "digest_to_dict",
    "render_html",
    "render_json",
    "render_markdown",
    "safe_url",
    "write_digest",
]
