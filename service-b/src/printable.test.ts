import { describe, expect, it } from "vitest";
import { printable } from "./printable.js";

describe("printable", () => {
  it("shows text as itself, a backslash doubled", () => {
    expect(printable('{"a": 1, "name": "Zoë 数"} \\')).toBe('{"a": 1, "name": "Zoë 数"} \\\\');
  });

  it("shows controls, format characters and separators escaped", () => {
    expect(printable("\x1b[31m\r\n\x00\x7f")).toBe("\\x1b[31m\\x0d\\x0a\\x00\\x7f");
    expect(printable("\u009b2J\u202eevil\u200b\u2028\u00a0")).toBe("\\u{9b}2J\\u{202e}evil\\u{200b}\\u{2028}\\u{a0}");
  });

  it("shows bytes that are not UTF-8 as \\xNN", () => {
    // A lone continuation byte, an overlong "/", a surrogate, a sequence cut short.
    expect(printable(Buffer.from([0x80, 0xc0, 0xaf, 0xed, 0xa0, 0x80, 0x41, 0xe2, 0x82]))).toBe(
      "\\x80\\xc0\\xaf\\xed\\xa0\\x80A\\xe2\\x82",
    );
  });

  it("cuts a long value, saying how much is left out", () => {
    expect(printable("abcdef", 4)).toBe("abcd\\[+2 bytes]");
    expect(printable("abcd", 4)).toBe("abcd");
  });
});
