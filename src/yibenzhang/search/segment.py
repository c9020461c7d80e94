"""Chinese segmentation for the index and for queries: NFKC and lower case, jieba words (search
mode, plus a user dictionary of catalogue terms), query words.

Text is stored as space-joined tokens: SQLite keeps them in FTS5, PostgreSQL in a tsvector, so a
text and a query must be cut the same way — both go through this module.
"""

from __future__ import annotations

import logging
import threading
import unicodedata
from functools import lru_cache
from typing import Any

from .. import plugins

# Catalogue terms kept whole, so 营业执照 or 公民身份号码 are words, not pieces.
USER_TERMS = (
    "人口", "户籍", "户籍人口", "流动人口", "常住人口", "法人", "非法人组织", "营业执照", "不动产", "不动产登记",
    "不动产权证", "社会信用", "统一社会信用代码", "信用代码", "电子证照", "公民身份号码", "身份证号", "身份证",
    "社会保险", "社保", "医保", "医疗保险", "养老保险", "失业保险", "工伤保险", "公积金", "住房公积金",
    "婚姻登记", "出生医学证明", "死亡医学证明", "低保", "最低生活保障", "特困", "残疾人", "个体工商户",
    "行政许可", "行政处罚", "失信", "守信", "失信被执行人", "联合惩戒", "宅基地", "排污许可", "食品经营许可",
    "药品经营许可", "特种设备", "学籍", "机动车", "驾驶证", "行驶证", "退役军人", "网格员", "地名地址",
    "遥感影像", "水质监测", "用电户", "燃气用户", "公交线路", "客流", "纳税人", "发票", "政府采购",
    "预算", "社会组织", "老年人", "高龄津贴", "困难群众", "义务教育", "招生考试", "执业医师", "医疗机构",
    "疫苗接种", "传染病", "核酸检测", "危险化学品", "安全生产许可", "建设工程", "施工许可", "商品房",
    "房屋租赁", "二手房", "网签备案", "企业年报", "股权出质", "动产抵押", "经营异常", "严重违法",
    "抽检", "双随机", "信访", "矛盾纠纷", "12345", "热线", "公共信用", "信用评价", "信用修复",
)
STOPWORDS = frozenset(("的", "和", "与", "及", "或", "等", "了", "在", "是", "对", "中", "之", "其", "有", "为",
                       "以", "于", "由", "按", "从", "各"))
MAX_QUERY_CHARS = 200  # longer input is cut, not refused (a pasted paragraph must not error)
MAX_QUERY_WORDS = 16

_lock = threading.Lock()
_tokenizer: Any = None


def _jieba() -> Any:
    """One jieba tokenizer for the process, loaded quietly, with the catalogue terms added (ours,
    and what the plugins name through `ybz_search_terms`: the catalogue its classification's
    item names)."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                import jieba  # deferred: keeps `ybz --help` light

                jieba.setLogLevel(logging.WARNING)
                tk = jieba.Tokenizer()
                tk.initialize()
                terms = set(USER_TERMS)
                for answer in plugins.results("ybz_search_terms"):
                    terms.update(answer)
                for term in terms:
                    tk.add_word(term, freq=max(tk.FREQ.get(term, 0), 20000))
                _tokenizer = tk
    return _tokenizer


def normal(text_: str) -> str:
    return unicodedata.normalize("NFKC", text_).lower()


def _is_word(token: str) -> bool:
    return any(ch.isalnum() for ch in token) and token not in STOPWORDS


@lru_cache(maxsize=4096)
def _words(text_: str) -> tuple[str, ...]:
    """Precise-mode words (no HMM guessing, so a text and a query cut the same way)."""
    return tuple(w for w in (t.strip() for t in _jieba().cut(normal(text_), HMM=False)) if _is_word(w))


@lru_cache(maxsize=200_000)
def segment(text_: str) -> tuple[str, ...]:
    """Search-mode tokens of a text: each word and the dictionary words inside it, so that
    营业执照信息 also yields 营业执照, 营业, 执照 (jieba.cut_for_search, extended to pieces longer
    than three characters)."""
    if not text_:
        return ()
    tk = _jieba()
    out: list[str] = []
    for word in tk.cut(normal(text_), HMM=False):
        word = word.strip()
        if not _is_word(word):
            continue
        out.append(word)
        n = len(word)
        if n > 2:
            for size in range(2, n):
                for i in range(n - size + 1):
                    piece = word[i:i + size]
                    if tk.FREQ.get(piece) and _is_word(piece):
                        out.append(piece)
    return tuple(dict.fromkeys(out))


def pieces(word: str) -> list[str] | None:
    """A cover of `word` by shorter dictionary words (营业执照 → 营业, 执照), or None. Lets a query
    word match a text where it sits inside a longer dictionary word."""
    tk = _jieba()
    out: list[str] = []
    i = 0
    while i < len(word):
        for size in range(len(word) - i - (1 if i == 0 else 0), 1, -1):
            piece = word[i:i + size]
            if tk.FREQ.get(piece):
                out.append(piece)
                i += size
                break
        else:
            return None
    return out if len(out) > 1 else None


def query_words(q: str) -> list[str]:
    """The words of a user query: at most MAX_QUERY_WORDS, from at most MAX_QUERY_CHARS. Quotes,
    `*`, `OR`, brackets are literal text: punctuation is dropped, words become quoted terms."""
    return list(dict.fromkeys(_words(q[:MAX_QUERY_CHARS])))[:MAX_QUERY_WORDS]
