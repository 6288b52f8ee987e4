"""The host guard: hostile URLs are refused, and what it accepts is where every client connects.

Nothing here sends a request: the guard and the clients' URL parsers are called directly.
"""

from __future__ import annotations

import locust  # noqa: F401 - gevent must patch ssl before urllib3 (imported below) is loaded
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capplan.errors import ConfigError
from capplan.loadtest.hosts import check_host, client_endpoints, is_loopback, parse_host_url, recorded_host


@pytest.mark.parametrize("url", [
    "http://127.0.0.2\\@127.0.0.1:18181",   # urllib3 connects to 127.0.0.2, urllib.parse reads 127.0.0.1
    "http://127.0.0.1\\@10.0.0.1/",
    "http://user:pw@127.0.0.1:8089",        # userinfo
    "http://10.0.0.1@127.0.0.1/",
    "http://0x7f.1/", "http://2130706433/", "http://127.1/", "http://0177.0.0.1/", "http://127.0.0.01/",
    "http://127.0.0.1.:80/",                # trailing dot
    "http://%31%32%37.0.0.1/",              # percent-encoded host
    "http://127.0.0.1 /", "http://127.0.0.1\t/", "http://ｌｏｃａｌｈｏｓｔ/",
    "http://[::1%25lo]/",                   # zone id
    "http://127.0.0.1:0/", "http://127.0.0.1:65536/", "http://127.0.0.1:80:81/", "http://127.0.0.1:/",
    "ftp://127.0.0.1/", "127.0.0.1:8089", "http:///x",
])
def test_ambiguous_or_invalid_urls_are_refused(url):
    with pytest.raises(ConfigError):
        check_host(url)


@pytest.mark.parametrize("url", ["http://10.0.0.1/", "http://example.com/", "https://[2001:db8::1]/",
                                 "http://169.254.169.254/latest/meta-data/"])
def test_non_loopback_hosts_need_allow_host(url):
    with pytest.raises(ConfigError, match="--allow-host"):
        check_host(url)
    checked = check_host(url, allow_hosts=(parse_host_url(url).hostname,))
    assert not is_loopback(checked.hostname)


@pytest.mark.parametrize(("url", "host", "port"), [
    ("http://127.0.0.1:8089", "127.0.0.1", 8089), ("HTTP://LOCALHOST", "localhost", 80),
    ("https://127.5.6.7/api", "127.5.6.7", 443), ("http://[::1]:9000/", "::1", 9000),
])
def test_loopback_urls_are_accepted_where_they_connect(url, host, port):
    checked = check_host(url)
    assert (checked.hostname, checked.port) == (host, port)


def test_localhost_must_resolve_to_loopback_only():
    def rebinding(host, port, **_):
        return [(2, 1, 6, "", ("127.0.0.1", port)), (2, 1, 6, "", ("10.1.2.3", port))]

    with pytest.raises(ConfigError, match="10.1.2.3"):
        check_host("http://localhost:8089", resolve=rebinding)
    check_host("http://localhost:8089")  # the real resolver of this machine: loopback


def test_recorded_host_drops_credentials_query_and_fragment():
    assert recorded_host("http://127.0.0.1:8089/api?access_token=X#frag") == "http://127.0.0.1:8089/api"
    assert recorded_host("http://user:secret@10.0.0.1/x?token=Y") == "http://10.0.0.1/x"


_hosts = st.one_of(
    st.sampled_from(["127.0.0.1", "127.0.0.2", "127.0.0.1", "localhost", "localhost", "LocalHost", "[::1]", "10.0.0.1", "example.com",
                     "0x7f.1", "2130706433", "127.1", "0177.0.0.1", "[::ffff:127.0.0.1]", "[::1%25eth0]", ""]),
    st.tuples(*[st.integers(0, 300)] * 4).map(lambda t: ".".join(map(str, t))),
    st.text("abcdef0123456789x.-", min_size=1, max_size=12),
)
_noise = st.lists(st.sampled_from(list("@\\/:?#%[] .\t") + ["a", "1", "evil.com", "127.0.0.2"]),
                  max_size=4).map("".join)


@st.composite
def _urls(draw) -> str:
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "ftp"]))
    userinfo = draw(st.sampled_from(["", "", "", "u@", "u:p@", "127.0.0.2\\@", "@"]))
    port = draw(st.sampled_from(["", ":80", ":8089", ":8089", ":0", ":65536", ":x", ":"]))
    rest = draw(st.sampled_from(["", "/", "/api", "/?access_token=X", "#f", "/a\\b", "?@evil.com", "#@evil.com"]))
    noise = st.one_of(st.just(""), st.just(""), _noise)  # most URLs plain, so many are accepted
    return f"{scheme}://{draw(noise)}{userinfo}{draw(_hosts)}{draw(noise)}{port}{rest}"


@given(_urls())
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_the_guard_agrees_with_every_client_on_where_it_connects(url):
    try:
        checked = parse_host_url(url)
    except ConfigError:
        return  # refused: nothing is loaded
    for client, endpoint in client_endpoints(checked.url).items():
        assert endpoint == (checked.hostname, checked.port), (client, url, checked)
    # the load generator appends the request path to the base URL; that never moves the authority
    for client, endpoint in client_endpoints(checked.url + "/api/x?y=1").items():
        assert endpoint == (checked.hostname, checked.port), (client, url)
    # loopback to the guard means loopback to every client
    if is_loopback(checked.hostname):
        assert all(is_loopback(host or "") for host, _ in client_endpoints(checked.url).values())


@given(_urls())
@settings(max_examples=300, deadline=None)
def test_an_accepted_url_names_loopback_or_an_allowed_host(url):
    try:
        checked = check_host(url, resolve=lambda host, port, **_: [(2, 1, 6, "", ("127.0.0.1", port))])
    except ConfigError:
        return
    assert is_loopback(checked.hostname)
