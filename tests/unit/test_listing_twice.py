"""A listing that names one file twice with two hashes is refused (issue 18, tryout row 19)."""

from __future__ import annotations

import pytest

from numpy_wheels.errors import ReleaseGateError
from numpy_wheels.release.listing import Page, from_url

NAME = "fooext-0.1.0-py3-none-any.whl"
A, B = "a" * 64, "b" * 64


def page_of(*links: str) -> Page:
    body = "".join(f'<a href="{href}">x</a>' for href in links).encode()
    return Page(body=body, content_type="text/html", url="http://127.0.0.1:9/c/")


def test_two_hashes_for_one_name_are_refused() -> None:
    page = page_of(f"{NAME}#sha256={A}", f"other/{NAME}#sha256={B}")
    with pytest.raises(ReleaseGateError, match=f"lists {NAME} twice, with two sha256"):
        from_url(page.url, "fooext", get=lambda _url: page)


@pytest.mark.parametrize("second", [f"mirror/{NAME}#sha256={A}", f"mirror/{NAME}"])
def test_the_same_file_twice_is_one_file(second: str) -> None:
    page = page_of(f"{NAME}#sha256={A}", second)
    (remote,) = from_url(page.url, "fooext", get=lambda _url: page)
    assert (remote.filename, remote.sha256) == (NAME, A)


@pytest.mark.parametrize(
    "query",
    [
        "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=0f0f",  # a pre-signed S3 URL
        "?temp_url_sig=0f0f&temp_url_expires=1700000000",  # a Swift temp URL
    ],
)
def test_a_link_with_a_query_is_named_by_its_path(query: str) -> None:
    """The file is named by the link's path; the query stays in the URL fetched (the server
    needs the signature)."""
    page = page_of(f"{NAME}{query}#sha256={A}")
    (remote,) = from_url(page.url, "fooext", get=lambda _url: page)
    assert (remote.filename, remote.sha256) == (NAME, A)
    assert remote.url == f"{page.url}{NAME}{query}"
