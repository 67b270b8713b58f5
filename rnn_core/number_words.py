"""Number words by rule: English words and German pieces for 1..999.

Both languages name numbers below a thousand by fixed rules, so every pair is generated,
not collected: English says hundreds, then tens, then units ("three hundred seventy
four"); German says hundreds, then units, "und", then tens, in one word
("dreihundertvierundsiebzig"). German is cut here into the morphemes it is written from
("drei hundert vier und siebzig"): a translation then has five output symbols, not 25
letters, and each piece lines up with one English word, so the alignment an attention
matrix shows is word to word and crosses where German swaps units and tens.

English follows the American style without "and" ("one hundred five"); German writes 100
as "einhundert" and a final 1 as "eins" ("einhunderteins"), the forms Duden gives as
standard (the shorter "hundert" and "hunderteins" are also in use).
"""

from __future__ import annotations

MAX_NUMBER = 999

ENGLISH_ONES = (
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
)
ENGLISH_TENS = (
    "twenty",
    "thirty",
    "forty",
    "fifty",
    "sixty",
    "seventy",
    "eighty",
    "ninety",
)
ENGLISH_WORDS = (*ENGLISH_ONES, *ENGLISH_TENS, "hundred")

# Units as they start a compound ("ein" in "einundzwanzig", "einhundert"); a number that
# ends in a lone 1 says "eins".
GERMAN_UNITS = (
    "ein",
    "zwei",
    "drei",
    "vier",
    "fünf",
    "sechs",
    "sieben",
    "acht",
    "neun",
)
GERMAN_TEENS = (
    "zehn",
    "elf",
    "zwölf",
    "dreizehn",
    "vierzehn",
    "fünfzehn",
    "sechzehn",
    "siebzehn",
    "achtzehn",
    "neunzehn",
)
GERMAN_TENS = (
    "zwanzig",
    "dreißig",
    "vierzig",
    "fünfzig",
    "sechzig",
    "siebzig",
    "achtzig",
    "neunzig",
)
GERMAN_PIECES = (*GERMAN_UNITS, "eins", *GERMAN_TEENS, *GERMAN_TENS, "und", "hundert")


def _check(n: int) -> None:
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_NUMBER:
        raise ValueError(f"number words exist here for 1 to {MAX_NUMBER}, not {n!r}")


def english(n: int) -> list[str]:
    """English words for n: 374 -> ["three", "hundred", "seventy", "four"]."""
    _check(n)
    hundreds, rest = divmod(n, 100)
    words = [ENGLISH_ONES[hundreds - 1], "hundred"] if hundreds else []
    if 0 < rest < 20:
        words.append(ENGLISH_ONES[rest - 1])
    elif rest >= 20:
        tens, units = divmod(rest, 10)
        words.append(ENGLISH_TENS[tens - 2])
        if units:
            words.append(ENGLISH_ONES[units - 1])
    return words


def german_pieces(n: int) -> list[str]:
    """German pieces for n: 374 -> ["drei", "hundert", "vier", "und", "siebzig"]."""
    _check(n)
    hundreds, rest = divmod(n, 100)
    pieces = [GERMAN_UNITS[hundreds - 1], "hundert"] if hundreds else []
    if rest == 1:
        pieces.append("eins")
    elif 1 < rest < 10:
        pieces.append(GERMAN_UNITS[rest - 1])
    elif 10 <= rest < 20:
        pieces.append(GERMAN_TEENS[rest - 10])
    elif rest >= 20:
        tens, units = divmod(rest, 10)
        if units:
            pieces += [GERMAN_UNITS[units - 1], "und"]
        pieces.append(GERMAN_TENS[tens - 2])
    return pieces


def german(n: int) -> str:
    """The German number word: 374 -> "dreihundertvierundsiebzig"."""
    return "".join(german_pieces(n))
