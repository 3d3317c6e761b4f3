"""How many SMS segments a text costs (GSM 03.38 / UCS-2 rules)."""

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = set("^{}\\[~]|€\f")


def segment_count(text: str) -> int:
    """Segments a carrier bills: 160/153 septets in GSM-7, 70/67 characters otherwise."""
    if all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text):
        length = sum(2 if char in GSM7_EXTENSION else 1 for char in text)
        single, multi = 160, 153
    else:
        # UCS-2 counts UTF-16 code units: an emoji is two.
        length = len(text.encode("utf-16-le")) // 2
        single, multi = 70, 67
    if length <= single:
        return 1
    return -(-length // multi)


def is_gsm7(text: str) -> bool:
    return all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text)
