from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signals.fetch.urls import TRACKING_PARAMS, canonicalize, is_tracking_param

# --------------------------------------------------------------------------- strategies

label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
hosts = st.builds(
    lambda parts, tld: ".".join([*parts, tld]),
    st.lists(label, min_size=1, max_size=3),
    st.sampled_from(["com", "fr", "org", "io"]),
)
segment = st.text(
    alphabet=st.characters(
        blacklist_characters="/?#%\\", blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp")
    ),
    max_size=8,
)
paths = st.lists(segment, max_size=4).map(lambda segs: "".join("/" + s for s in segs))
param_key = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True).filter(
    lambda k: not is_tracking_param(k)
)
param_value = st.text(alphabet="abcdefXYZ0123456789-_.~", max_size=6)
params = st.lists(st.tuples(param_key, param_value), max_size=4)
tracking_key = st.one_of(
    st.sampled_from(sorted(TRACKING_PARAMS)),
    st.from_regex(r"utm_[a-z]{1,8}", fullmatch=True),
    st.sampled_from(["UTM_Source", "Utm_Medium", "FBCLID", "gclid"]),
)
fragments = st.text(max_size=10)
# URL-ish noise: the characters that matter to a URL parser, and some that should not be there
url_noise = st.builds(
    lambda scheme, rest: scheme + rest,
    st.sampled_from(["http://", "HTTPS://", "http:", "https:///", ""]),
    st.text(alphabet=st.sampled_from(list(":/?#[]@%.&=+ aZ09é\t\n\x00-_~;,")), max_size=40),
)


def random_case(draw: st.DrawFn, s: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(s), max_size=len(s)))
    return "".join(c.upper() if f else c for c, f in zip(s, flips, strict=True))


@st.composite
def urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["http", "https"]))
    host = draw(hosts)
    port = draw(st.sampled_from([None, 8080, 80, 443]))
    path = draw(paths)
    query = "&".join(f"{k}={v}" for k, v in draw(params))
    url = f"{scheme}://{host}{'' if port is None else f':{port}'}{path}"
    return url + (f"?{query}" if query else "")


@st.composite
def equivalent_pairs(draw: st.DrawFn) -> tuple[str, str]:
    """A clean URL and a noisy spelling of the same resource."""
    scheme = draw(st.sampled_from(["http", "https"]))
    host = draw(hosts)
    path = draw(paths)
    kv = draw(params)
    query = "&".join(f"{k}={v}" for k, v in kv)
    clean = f"{scheme}://{host}{path or '/'}" + (f"?{query}" if query else "")
    # the noisy one: random case of scheme and host, the default port, tracking parameters
    # slipped in anywhere, a fragment, surrounding whitespace, an empty path
    noisy_scheme = random_case(draw, scheme)
    noisy_host = random_case(draw, host)
    port = draw(st.sampled_from(["", ":80" if scheme == "http" else ":443"]))
    noisy_kv = [f"{k}={v}" for k, v in kv]
    for tk in draw(st.lists(tracking_key, max_size=3)):
        noisy_kv.insert(draw(st.integers(0, len(noisy_kv))), f"{tk}=x{draw(st.integers(0, 99))}")
    noisy_query = "&".join(noisy_kv)
    frag = draw(st.one_of(st.just(""), fragments.map(lambda f: "#" + f)))
    ws = draw(st.sampled_from(["", " ", "\t", "\n ", "  "]))
    noisy = (
        f"{ws}{noisy_scheme}://{noisy_host}{port}{path}"
        + (f"?{noisy_query}" if noisy_query else "")
        + frag
        + ws
    )
    return clean, noisy


# --------------------------------------------------------------------------- properties


@given(st.one_of(urls(), url_noise, st.text(max_size=60), equivalent_pairs().map(lambda p: p[1])))
def test_idempotent(url: str) -> None:
    once = canonicalize(url)
    if once is not None:
        assert canonicalize(once) == once


@given(urls(), st.lists(tracking_key, min_size=1, max_size=4), fragments)
def test_tracking_params_and_fragments_never_survive(url: str, keys: list[str], frag: str) -> None:
    sep = "&" if "?" in url else "?"
    dirty = url + sep + "&".join(f"{k}=1" for k in keys) + "#" + frag
    out = canonicalize(dirty)
    assert out is not None
    assert "#" not in out
    parts = urlsplit(out)
    assert not any(is_tracking_param(k) for k, _ in parse_qsl(parts.query, keep_blank_values=True))
    assert parts.fragment == ""


@given(equivalent_pairs())
def test_equivalent_urls_collapse(pair: tuple[str, str]) -> None:
    clean, noisy = pair
    assert canonicalize(noisy) == canonicalize(clean)
    assert canonicalize(clean) is not None


@given(st.one_of(st.text(max_size=80), url_noise), st.one_of(st.none(), urls()))
def test_never_raises_and_only_http(url: str, base: str | None) -> None:
    out = canonicalize(url, base)
    assert out is None or out.startswith(("http://", "https://"))


# --------------------------------------------------------------------------- examples


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://Example.COM", "http://example.com/"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("https://example.com:80/a", "https://example.com:80/a"),
        ("http://example.com:8080", "http://example.com:8080/"),
        ("  http://example.com/a#section-2 ", "http://example.com/a"),
        (
            "https://ex.com/a?utm_source=x&id=3&fbclid=y&gclid=z&b=&mc_cid=1&mc_eid=2&xtor=RSS-3"
            "&at_medium=a&at_campaign=b&ocid=c&cmpid=d&_ga=e&page=2",
            "https://ex.com/a?id=3&b=&page=2",
        ),
        ("https://ex.com/a?z=1&a=2&m=3", "https://ex.com/a?z=1&a=2&m=3"),  # order kept
        ("https://ex.com/?utm_source=rss", "https://ex.com/"),
        ("http://bücher.example/é", "http://xn--bcher-kva.example/%C3%A9"),
        ("http://[::FFFF:127.0.0.1]/", "http://[::ffff:7f00:1]/"),
        ("http://ex.com/a%2fb", "http://ex.com/a%2Fb"),
        ("http://ex.com/a b", "http://ex.com/a%20b"),
        ("ftp://example.com/", None),
        ("javascript:alert(1)", None),
        ("mailto:a@b.c", None),
        ("data:text/html,hi", None),
        ("http://", None),
        ("http://exa mple.com/", None),
        ("http://example.com:99999/", None),
        ("", None),
        ("not a url", None),
    ],
)
def test_examples(url: str, expected: str | None) -> None:
    assert canonicalize(url) == expected


def test_relative_resolution() -> None:
    base = "https://news.example/section/feed.xml"
    assert canonicalize("../a/b?utm_medium=rss", base) == "https://news.example/a/b"
    assert canonicalize("//cdn.example/x", base) == "https://cdn.example/x"
    assert canonicalize("#top", base) == "https://news.example/section/feed.xml"
    assert canonicalize("javascript:alert(1)", base) is None
