"""The crawler of tests/test_crawl.py: follows same-site GET links from a start page, bounded and
deduplicated by the shape of the URL, and checks each response (no 5xx, HTML accessibility basics,
JSON where JSON is promised, no untranslated Chinese in the navigation of English pages)."""

from __future__ import annotations

import json
import re
import time
import traceback
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

SITE = "http://testserver/"
# Addresses a DCAT catalogue promises to serve (dataset IRIs are names, not links).
TURTLE_LINK = re.compile(r"dcat:(?:downloadURL|accessURL|landingPage) <(http://testserver/[^>]*)>")
HAN = re.compile(r"[\u3400-\u9fff]")
# A path segment that names one thing rather than a kind of page: a number, a uuid/hex token, or a
# code with digits (resource codes, registration codes, dates). One of each shape is visited.
ID_SEGMENT = re.compile(r"^(\d+|[0-9a-f]{8,}(-[0-9a-f]{4,})*|.*\d.*)$", re.IGNORECASE)
SKIP_PATHS = ("/logout", "/static/", "/docs", "/redoc")
# Inputs a person never types into, so no label is needed.
UNLABELLED_TYPES = {"hidden", "submit", "button", "reset", "image"}
QUERY_VARIANTS = 4
# What a browser fetches by itself when it draws a page (tag → attributes holding an address).
RESOURCE_ATTRS = {"script": ("src",), "link": ("href",), "img": ("src", "srcset"), "iframe": ("src",),
                  "frame": ("src",), "source": ("src", "srcset"), "video": ("src", "poster"), "audio": ("src",),
                  "track": ("src",), "embed": ("src",), "object": ("data",), "input": ("src",)}
CSS_URL = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])([^'")\s]+)""", re.IGNORECASE)
# <script> types a browser runs; application/json data blocks are never executed.
SCRIPT_TYPES = {"text/javascript", "application/javascript", "module", "text/ecmascript", ""}
VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Failure:
    role: str
    url: str
    kind: str
    detail: str
    referrer: str = ""

    def __str__(self) -> str:
        via = f" (linked from {self.referrer})" if self.referrer else ""
        return f"[{self.role}] {self.kind} {self.url}{via}: {self.detail}"


@dataclass
class CrawlResult:
    role: str
    visited: list[str] = field(default_factory=list)
    html_pages: list[str] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    refused: list[tuple[str, int, str]] = field(default_factory=list)  # 4xx: url, status, referrer
    seconds: dict[str, float] = field(default_factory=dict)  # per URL, to see where the time goes
    truncated: bool = False


class PageScan(HTMLParser):
    """What the checks need from one HTML page, in a single pass."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.html_lang: str | None = None
        self.title = ""
        self.links: list[str] = []
        self.images_without_alt: list[str] = []
        self.label_for: set[str] = set()
        self.controls: list[tuple[str, dict[str, str | None], bool]] = []  # tag, attrs, inside a <label>
        self.nav_han: list[str] = []
        self.resources: list[str] = []  # addresses the browser loads without a click
        self.inline_code: list[str] = []  # inline <script>, on*= handlers, javascript: URLs (CSP)
        self._in_style = False
        self._stack: list[tuple[str, bool, bool]] = []  # tag, in nav, exempt (lang=zh or a person's name)
        self._in_title = False
        self._label_depth = 0

    @property
    def _in_nav(self) -> bool:
        return bool(self._stack) and self._stack[-1][1]

    @property
    def _exempt(self) -> bool:
        return bool(self._stack) and self._stack[-1][2]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script" and not a.get("src") and (a.get("type") or "text/javascript").lower() in SCRIPT_TYPES:
            self.inline_code.append("<script> without src")
        self.inline_code += [f"<{tag} {name}=>" for name, _ in attrs if name.startswith("on")]
        self.inline_code += [f"<{tag} {name}=javascript:>" for name, value in attrs
                             if name in ("href", "src", "action", "formaction")
                             and (value or "").strip().lower().startswith("javascript:")]
        for attr in RESOURCE_ATTRS.get(tag, ()):
            for ref in (a.get(attr) or "").split(","):
                if ref.strip():
                    self.resources.append(ref.strip().split()[0])
        self.resources += CSS_URL.findall(a.get("style") or "")
        if tag == "style":
            self._in_style = True
        if tag == "html":
            self.html_lang = a.get("lang")
        elif tag == "title":
            self._in_title = True
        elif tag == "a" and a.get("href"):
            self.links.append(a["href"] or "")
        if a.get("hx-get"):  # htmx fragments are links too (the enhanced page fetches them)
            self.links.append(a["hx-get"] or "")
        elif tag == "form" and (a.get("method") or "get").lower() == "get" and a.get("action"):
            self.links.append(a["action"] or "")
        elif tag == "img" and not a.get("alt") and a.get("alt") != "":
            self.images_without_alt.append(a.get("src") or "?")
        elif tag == "label":
            self._label_depth += 1
            if a.get("for"):
                self.label_for.add(a["for"] or "")
        if tag in ("input", "select", "textarea"):
            self.controls.append((tag, a, self._label_depth > 0))
        if tag in VOID_TAGS:
            return
        in_nav = self._in_nav or tag == "nav"
        lang = (a.get("lang") or "").lower()
        # The language switch names 中文 in Chinese on purpose; the user's own name is data.
        exempt = self._exempt or lang.startswith("zh") or "user" in (a.get("class") or "").split()
        self._stack.append((tag, in_nav, exempt))

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag == "style":
            self._in_style = False
        elif tag == "label":
            self._label_depth = max(0, self._label_depth - 1)
        if tag in VOID_TAGS:
            return
        for i in range(len(self._stack) - 1, -1, -1):  # tolerate unclosed tags
            if self._stack[i][0] == tag:
                del self._stack[i:]
                break

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        if self._in_style:
            self.resources += CSS_URL.findall(data)
        if self._in_nav and not self._exempt and HAN.search(data):
            self.nav_han.append(data.strip())

    def unlabelled(self) -> list[str]:
        out = []
        for tag, a, in_label in self.controls:
            if tag == "input" and (a.get("type") or "text").lower() in UNLABELLED_TYPES:
                continue
            if in_label or a.get("aria-label") or a.get("aria-labelledby") or a.get("title"):
                continue
            if a.get("id") and a["id"] in self.label_for:
                continue
            out.append(f"<{tag} name={a.get('name')!r} id={a.get('id')!r}>")
        return out

    def external_resources(self) -> list[str]:
        """What the page would load from another host (a government network has no internet)."""
        return [ref for ref in self.resources if is_external(ref)]


def is_external(ref: str) -> bool:
    parts = urlsplit(ref)
    return bool(parts.netloc) and parts.netloc not in ("testserver", "127.0.0.1", "localhost")


def path_shape(url: str) -> str:
    """The path with ids normalised: one page of each kind is visited, not every dataset."""
    segments = ["{id}" if seg and ID_SEGMENT.match(seg) else seg for seg in urlsplit(url).path.split("/")]
    return "/".join(segments)


def without_lang(url: str) -> str:
    """The dedupe key: the URL less its language switch (the same page in the other language)."""
    parts = urlsplit(url)
    query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "lang")
    return urlunsplit(parts._replace(query=urlencode(query)))


def with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    return urlunsplit(parts._replace(query=urlencode(query + list(params.items()))))


def _same_site(base: str, href: str) -> str | None:
    href = href.strip()
    if not href or href.startswith(("#", "mailto:", "tel:", "javascript:", "data:")):
        return None
    absolute = urljoin(base, href)
    parts = urlsplit(absolute)
    if parts.netloc not in ("testserver", "") or parts.scheme not in ("http", "https", ""):
        return None
    path = parts.path or "/"
    if path.startswith(SKIP_PATHS) or path == "/logout":
        return None
    return urlunsplit(("", "", path, parts.query, ""))


def is_json_url(url: str) -> bool:
    """An API or .json/.jsonld address, unless it asks for another format (CSV/XLSX/ICS exports)."""
    parts = urlsplit(url)
    formats = [v.lower() for k, v in parse_qsl(parts.query) if k == "format"]
    if formats and formats[-1] not in ("json", "jsonld"):
        return False
    return parts.path.startswith(("/api/", "/openapi.json")) or parts.path.endswith((".json", ".jsonld"))


def json_links(content: bytes) -> list[str]:
    """Site URLs in a JSON body, bar JSON-LD node identifiers ("@id": IRIs name things)."""
    try:
        body = json.loads(content)
    except ValueError:
        return []
    found: list[str] = []

    def walk(node: object, key: str = "") -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        elif isinstance(node, str) and node.startswith(SITE) and key != "@id":
            found.append(node)

    walk(body)
    return found


def get(client, role: str, url: str, referrer: str, result: CrawlResult):
    """GET `url`; a raised server error is a failure with its traceback, like a 500."""
    started = time.perf_counter()
    try:
        response = client.get(url, follow_redirects=True)
        result.seconds[url] = time.perf_counter() - started
    except Exception:  # the app raised: that is exactly what we report
        result.failures.append(Failure(role, url, "exception", traceback.format_exc(limit=-12), referrer))
        return None
    result.statuses[response.status_code] = result.statuses.get(response.status_code, 0) + 1
    if 400 <= response.status_code < 500:
        result.refused.append((url, response.status_code, referrer))
    if response.status_code >= 500:
        result.failures.append(Failure(role, url, f"HTTP {response.status_code}", response.text[:2000], referrer))
    return response


def check_html(role: str, url: str, text: str, result: CrawlResult, referrer: str) -> PageScan:
    scan = PageScan()
    scan.feed(text)
    scan.close()
    problems = []
    if not scan.html_lang:
        problems.append("no <html lang=>")
    if not scan.title.strip():
        problems.append("no <title>")
    if scan.images_without_alt:
        problems.append(f"<img> without alt: {scan.images_without_alt[:5]}")
    missing = scan.unlabelled()
    if missing:
        problems.append(f"form controls without a label: {missing[:8]}")
    if problems:
        result.failures.append(Failure(role, url, "accessibility", "; ".join(problems), referrer))
    if scan.inline_code:
        result.failures.append(Failure(role, url, "csp", f"inline code: {sorted(set(scan.inline_code))[:5]}",
                                       referrer))
    remote = scan.external_resources()
    if remote:
        result.failures.append(Failure(role, url, "offline", f"loads from another host: {remote[:5]}", referrer))
    return scan


def script_policy_problem(csp: str) -> str | None:
    """What is wrong with a page's policy for scripts: missing, or allowing inline code or eval."""
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    sources = directives.get("script-src", directives.get("default-src"))
    if sources is None:
        return "no Content-Security-Policy for scripts"
    lax = [s for s in sources if s in ("'unsafe-inline'", "'unsafe-eval'", "*", "data:")]
    return f"script-src allows {' '.join(lax)}" if lax else None


def crawl(client, role: str, starts: Iterable[str], limit: int = 400, data_names: Iterable[str] | None = (),
          variants: int = QUERY_VARIANTS) -> CrawlResult:
    """Breadth-first over same-site links; at most `limit` URLs, and at most `variants` URLs per
    path shape (ids normalised: a few datasets, not all 403; facet links combine without end)."""
    result = CrawlResult(role)
    seen: set[str] = set()
    per_path: dict[str, int] = {}
    queue: deque[tuple[str, str]] = deque()
    for start in starts:  # every start is visited, whatever its shape
        seen.add(without_lang(start))
        per_path[path_shape(start)] = per_path.get(path_shape(start), 0) + 1
        queue.append((start, ""))
    while queue:
        url, referrer = queue.popleft()
        if len(result.visited) >= limit:
            result.truncated = True
            break
        result.visited.append(url)
        response = get(client, role, url, referrer, result)
        if response is None:
            continue
        final = str(response.url)
        ctype = response.headers.get("content-type", "")
        if 400 <= response.status_code < 500 and response.status_code not in (401, 403) and referrer:
            result.failures.append(Failure(role, url, "broken link", f"HTTP {response.status_code}: "
                                           f"{response.text[:300]!r}", referrer))
        if is_json_url(url) and response.status_code < 500:
            try:
                json.loads(response.content)
            except ValueError:
                result.failures.append(Failure(role, url, "not JSON",
                                               f"{response.status_code} {ctype}: {response.text[:200]!r}", referrer))
        if response.status_code >= 500:
            continue
        if "text/html" in ctype:
            result.html_pages.append(url)
            lax = script_policy_problem(response.headers.get("content-security-policy", ""))
            if lax:
                result.failures.append(Failure(role, url, "csp", lax, referrer))
            links = check_html(role, url, response.text, result, referrer).links
        elif "json" in ctype:
            links = json_links(response.content)  # CKAN resource URLs, DCAT distributions in JSON-LD
        elif "turtle" in ctype:
            links = TURTLE_LINK.findall(response.text)
        else:
            continue
        for href in links:
            target = _same_site(final, href)
            if target is None:
                continue
            key, path_key = without_lang(target), path_shape(target)
            if key not in seen and per_path.get(path_key, 0) < variants:
                seen.add(key)
                per_path[path_key] = per_path.get(path_key, 0) + 1
                queue.append((target, url))
    if data_names is not None:
        check_english(client, role, result, data_names)
    return result


def check_english(client, role: str, result: CrawlResult, data_names: Iterable[str]) -> None:
    """Every HTML page again in ?lang=en: its <nav> must hold no Chinese, bar data (the names of
    regions, orgs and resources in a breadcrumb are not translated)."""
    names = sorted(set(data_names), key=len, reverse=True)
    shapes: set[str] = set()
    for url in list(result.html_pages):
        if path_shape(url) in shapes:  # one page of each kind is enough: the navigation is the template's
            continue
        shapes.add(path_shape(url))
        english_url = with_query(url, lang="en")
        response = get(client, role, english_url, url, result)
        if response is None or "text/html" not in response.headers.get("content-type", ""):
            continue
        scan = PageScan()
        scan.feed(response.text)
        if scan.html_lang != "en":
            result.failures.append(Failure(role, english_url, "i18n", f"<html lang={scan.html_lang!r}>"))
        untranslated = sorted({text for text in scan.nav_han if HAN.search(_strip_names(text, names))})
        if untranslated:
            result.failures.append(Failure(role, english_url, "i18n",
                                           f"Chinese in the navigation: {untranslated[:10]}"))
    client.get("/?lang=zh")  # back to the default language for whatever comes next


def _strip_names(text: str, names: list[str]) -> str:
    for name in names:
        if name in text:
            text = text.replace(name, "")
    return text
