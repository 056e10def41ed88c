"""The language of memlens's explanations (``demo``, ``layout --explain``): gettext catalogues
under ``memlens/locale`` (``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``, ``LANG`` pick; ``--lang``
overrides). English is the text in the code; other languages are catalogues.

    from memlens.i18n import activate, gettext as _
    activate(choose("zh_CN", {}))
    print(_("Claim"))

Mark a string with ``N_`` where it is defined and translate it with ``gettext`` where it is
shown, so the catalogue (``pybabel extract``) finds it and the active language applies.
"""

from __future__ import annotations

import gettext as _gettext
from collections.abc import Mapping
from pathlib import Path

DOMAIN = "memlens"
LOCALE_DIR = Path(__file__).with_name("locale")
LANGUAGES = ("en", "zh_CN")  # the languages memlens has catalogues for (English: none needed)
ENV_ORDER = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")  # gettext's order

_active: _gettext.NullTranslations = _gettext.NullTranslations()
_language = "en"


def normalise(name: str) -> str | None:
    """A language memlens has for ``name`` ("zh_CN.UTF-8", "zh-cn", "zh", "en_GB"), or None."""
    base = name.split(".")[0].split("@")[0].replace("-", "_")
    lang, _, region = base.partition("_")
    lang = lang.lower()
    if lang == "zh" and region.upper() in ("", "CN", "SG", "HANS"):
        return "zh_CN"
    if lang in ("en", "c", "posix"):
        return "en"
    return None


def choose(option: str | None, environ: Mapping[str, str]) -> str:
    """The language to speak: ``option`` (--lang) if given, else the first of the
    environment's choices memlens has, else English."""
    if option:
        found = normalise(option)
        if found is None:
            from memlens.errors import UsageError

            have = ", ".join(LANGUAGES)
            raise UsageError(f"--lang {option}: no such language (memlens has {have})")
        return found
    for var in ENV_ORDER:
        value = environ.get(var)
        if not value:
            continue
        for name in value.split(":"):
            found = normalise(name) if name else None
            if found is not None:
                return found
        return "en"  # the first variable set decides, as in gettext
    return "en"


def translation(language: str) -> _gettext.NullTranslations:
    if language == "en":
        return _gettext.NullTranslations()
    return _gettext.translation(DOMAIN, LOCALE_DIR, languages=[language], fallback=True)


def activate(language: str) -> None:
    """Speak ``language`` from now on (the command line calls this once)."""
    global _active, _language
    _active, _language = translation(language), language


def language() -> str:
    return _language


def gettext(message: str) -> str:
    """``message`` in the active language (itself when there is no translation)."""
    return _active.gettext(message)


def N_(message: str) -> str:
    """Marks ``message`` for the catalogue where it is defined; ``gettext`` translates it."""
    return message
