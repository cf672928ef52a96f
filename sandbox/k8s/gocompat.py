"""The Go standard library's wording, where the API server passes it through to clients.

kube-apiserver answers some malformed requests with the text of a Go error: `strconv.ParseInt` for a bad
`limit`, `encoding/base64` for a continue token or Secret data that is not base64, `encoding/json` for a
continue token that is not the JSON it expects. These helpers reproduce those texts for the inputs they
cover (strconv, base64: the documented semantics of Go 1.24; encoding/json: the common syntax and type
errors, see json_unmarshal_error).
"""

import base64
import json
import re
import unicodedata

INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
STD_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
URL_ALPHABET = STD_ALPHABET[:62] + "-_"
_SHORT_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v",
                  "\\": "\\\\", '"': '\\"'}


class GoError(ValueError):
    """An error whose str() is what the Go function would have returned."""


# ---------------------------------------------------------------------- strconv
def _is_print(char: str) -> bool:
    """unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space."""
    return char == " " or unicodedata.category(char)[0] in "LMNPS"


def quote(text: str) -> str:
    """strconv.Quote of a (UTF-8) string."""
    out = []
    for char in text:
        if char in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[char])
        elif 0xDC80 <= ord(char) <= 0xDCFF:       # an undecodable byte (surrogateescape)
            out.append(f"\\x{ord(char) - 0xDC00:02x}")
        elif _is_print(char):
            out.append(char)
        elif ord(char) < 0x80:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) < 0x10000:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    return '"' + "".join(out) + '"'


def parse_int64(text: str) -> int:
    """strconv.ParseInt(text, 10, 64): an optional sign and decimal digits, nothing else."""
    if not re.fullmatch(r"[+-]?[0-9]+", text or ""):
        raise GoError(f"strconv.ParseInt: parsing {quote(text)}: invalid syntax")
    value = int(text)
    if not INT64_MIN <= value <= INT64_MAX:
        raise GoError(f"strconv.ParseInt: parsing {quote(text)}: value out of range")
    return value


# ---------------------------------------------------------------------- encoding/base64
def b64decode(text: str, *, url: bool, padded: bool) -> bytes:
    """DecodeString of base64.StdEncoding (url=False, padded=True) or RawURLEncoding (url=True, padded=False):
    CR and LF are skipped, the first illegal byte is reported by its offset, trailing bits are not checked."""
    alphabet = URL_ALPHABET if url else STD_ALPHABET
    raw = text.encode("utf-8", "surrogateescape")
    chars, index = [], 0
    while index < len(raw):
        quantum, error_at, index, ended = _quantum(raw, index, alphabet, padded)
        if error_at is not None:
            raise GoError(f"illegal base64 data at input byte {error_at}")
        chars.extend(quantum)
        if ended:
            break
    data = "".join(chars)
    return base64.b64decode(data + "=" * (-len(data) % 4), altchars=b"-_" if url else None)


def _skip_newlines(raw, index):
    while index < len(raw) and raw[index] in b"\r\n":
        index += 1
    return index


def _quantum(raw, index, alphabet, padded):
    """One 4-character group as Go's decodeQuantum reads it -> (chars, error offset, next index, input ended)."""
    chars = []
    while len(chars) < 4:
        if index == len(raw):
            if not chars:
                return chars, None, index, True
            if len(chars) == 1 or padded:
                return chars, index - len(chars), index, True
            return chars, None, index, True
        byte = raw[index]
        index += 1
        if byte in b"\r\n":
            continue
        char = chr(byte)
        if byte < 0x80 and char in alphabet:
            chars.append(char)
            continue
        if not padded or char != "=":
            return chars, index - 1, index, True
        return _padding(raw, index, chars)
    return chars, None, index, False


def _padding(raw, index, chars):
    """Go's handling of '=' in a padded encoding, the first '=' already read at index - 1."""
    if len(chars) < 2:
        return chars, index - 1, index, True
    if len(chars) == 2:
        index = _skip_newlines(raw, index)
        if index == len(raw):
            return chars, len(raw), index, True
        if raw[index:index + 1] != b"=":
            return chars, index - 1, index, True
        index += 1
    index = _skip_newlines(raw, index)
    if index < len(raw):
        return chars, index, index, True
    return chars, None, index, True


def b64encode_raw_url(data: bytes) -> str:
    """base64.RawURLEncoding.EncodeToString."""
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


# ---------------------------------------------------------------------- encoding/json
def quote_char(byte: int) -> str:
    """encoding/json's quoteChar: how its syntax errors show the offending byte."""
    if byte == ord("'"):
        return "'\\''"
    if byte == ord('"'):
        return "'\"'"
    return "'" + quote(chr(byte))[1:-1] + "'"


def _container_at(text: str, pos: int) -> str:
    """'{' or '[' (or '') enclosing position pos of (syntactically valid up to pos) JSON text."""
    stack, in_string, escaped = [], False, False
    for char in text[:pos]:
        if in_string:
            escaped, in_string = (False, True) if escaped else (char == "\\", char != '"')
        elif char == '"':
            in_string = True
        elif char in "{[":
            stack.append(char)
        elif char in "}]" and stack:
            stack.pop()
    return stack[-1] if stack else ""


def _syntax_error(text: str, exc: json.JSONDecodeError) -> str:
    pos = exc.pos
    if pos >= len(text) or exc.msg.startswith("Unterminated string"):
        return "unexpected end of JSON input"
    message = exc.msg
    if message.startswith("Invalid \\escape") or message.startswith("Invalid \\u"):
        pos += 1
    byte = text[pos].encode("utf-8", "surrogateescape")[0]
    char = quote_char(byte)
    if message == "Extra data":
        return f"invalid character {char} after top-level value"
    if message.startswith("Expecting property name"):
        return f"invalid character {char} looking for beginning of object key string"
    if message == "Expecting ':' delimiter":
        return f"invalid character {char} after object key"
    if message == "Expecting ',' delimiter":
        where = "object key:value pair" if _container_at(text, pos) == "{" else "array element"
        return f"invalid character {char} after {where}"
    if message.startswith("Invalid control character"):
        return f"invalid character {char} in string literal"
    if message.startswith("Invalid \\u"):
        return f"invalid character {char} in \\u hexadecimal character escape"
    if message.startswith("Invalid \\escape"):
        return f"invalid character {char} in string escape code"
    return f"invalid character {char} looking for beginning of value"


class _RawNumber:
    """A JSON number that does not fit an int64, kept as written (encoding/json quotes the literal)."""

    def __init__(self, text):
        self.text = text


def _reject_constant(name):
    raise ValueError(name)


def _number(text):
    value = int(text)
    return value if INT64_MIN <= value <= INT64_MAX else _RawNumber(text)


def _json_type(value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, _RawNumber)):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(value)]


def json_unmarshal_error(data: bytes, struct: str, fields: dict) -> tuple:
    """json.Unmarshal(data, &struct{...}) -> (decoded fields, error text or None).

    ``fields``: JSON name -> Go type ("string" or "int64"); keys match case-insensitively as in Go (an exact
    match first), unknown keys are ignored, null leaves a field unset, the first type error is reported."""
    text = data.decode("utf-8", "surrogateescape")
    try:
        value = json.loads(text, parse_constant=_reject_constant, parse_float=_RawNumber, parse_int=_number)
    except json.JSONDecodeError as exc:
        return {}, _syntax_error(text, exc)
    except ValueError as exc:  # NaN / Infinity are not JSON
        return {}, f"invalid character {quote_char(ord(str(exc).lstrip('-')[0]))} looking for beginning of value"
    if value is None:
        return {}, None
    if not isinstance(value, dict):
        return {}, f"json: cannot unmarshal {_json_type(value)} into Go value of type {struct}"
    decoded, error = {}, None
    for key, item in value.items():
        name = key if key in fields else next((f for f in fields if f.lower() == key.lower()), None)
        if name is None or item is None:
            continue
        problem = _type_problem(item, fields[name])
        if problem is None:
            decoded[name] = item
        elif error is None:
            error = (f"json: cannot unmarshal {problem} into Go struct field {struct.split('.')[-1]}.{name} "
                     f"of type {fields[name]}")
    return decoded, error


def _type_problem(item, go_type):
    """What encoding/json calls a value that does not fit go_type, or None."""
    if go_type == "string":
        return None if isinstance(item, str) else _json_type(item)
    if isinstance(item, _RawNumber):
        return f"number {item.text}"
    return None if isinstance(item, int) and not isinstance(item, bool) else _json_type(item)
