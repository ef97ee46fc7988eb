/* What a word is, for the bundle's search: the words that archiver/words.py finds, found
 * the same way (tests/test_words.py runs both on the same inputs, every Unicode character
 * included). The export indexes the words Python found; this file finds the query's.
 *
 * Folded as Python folds: NFKD, the generic combining marks removed, NFC, case folding,
 * which JavaScript lacks: toLowerCase() and the few characters where Python's casefold()
 * says otherwise ("ß" is "ss", final "ς" is "σ"), with the letters that carry no accent to
 * remove ("ø" is "o"). A word is a run of letters, digits and "_"; each ideograph or kana
 * is a word of its own.
 */
const archiverWords = (function () {
  "use strict";

  const MARKS = /[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+/gu;
  const IDEOGRAPHS = "\u3005-\u3007\u3021-\u3029\u3038-\u303c\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff" +
    "\uf900-\ufaff\u{1b000}-\u{1b16f}\u{20000}-\u{323af}";
  const WORD = new RegExp(`(?=[\\p{L}\\p{N}_])[${IDEOGRAPHS}]|(?:(?![${IDEOGRAPHS}])[\\p{L}\\p{N}_])+`, "gu");
  const LETTERS = {
    "ß": "ss", "ς": "σ", "ᲀ": "в", "ᲁ": "д", "ᲂ": "о", "ᲃ": "с", "ᲄ": "т", "ᲅ": "т", "ᲆ": "ъ", "ᲇ": "ѣ", "ᲈ": "ꙋ",
    "ø": "o", "ł": "l", "đ": "d", "æ": "ae", "œ": "oe", "ı": "i", "þ": "th", "\u2019": "'",
  };
  // ...and Cherokee, whose case folding is to the capitals: U+AB70-ABBF, U+13F8-13FD
  const SPECIAL = /[ßςᲀ-ᲈøłđæœıþ\u2019\uab70-\uabbf\u13f8-\u13fd]/gu;
  const special = (c) => LETTERS[c] ||
    String.fromCharCode(c.charCodeAt(0) - (c.charCodeAt(0) >= 0xab70 ? 0x97d0 : 8));

  function fold(text) {
    return text.normalize("NFKD").replace(MARKS, "").normalize("NFC").toLowerCase().replace(SPECIAL, special);
  }

  function words(text) {
    return fold(text).match(WORD) || [];
  }

  // whether c folds together with the character before it (NFC may compose them): a mark,
  // a kana voicing mark, the vowel or final of a Korean syllable
  const ATTACHED = /^[\p{M}\u1160-\u11ff\ud7b0-\ud7ff]/u;
  const attached = (c) => ATTACHED.test(c.normalize("NFKD"));  // (nothing before U+0300 does)

  // [start, end, word] for each of words(text), offsets into text (what to highlight)
  function spans(text) {
    const clusters = [];  // [start, end] of each character with those attached to it
    for (let i = 0; i < text.length;) {
      const n = text.codePointAt(i) > 0xffff ? 2 : 1;
      const joins = clusters.length && text.charCodeAt(i) >= 0x300 && attached(text.slice(i, i + n));
      if (joins) clusters[clusters.length - 1][1] = i + n; else clusters.push([i, i + n]);
      i += n;
    }
    const from = [], to = [];  // each UTF-16 unit of the folded text -> its cluster in text
    let joined = "";
    for (const [a, b] of clusters) {
      const piece = fold(text.slice(a, b));
      joined += piece;
      for (let k = 0; k < piece.length; k++) { from.push(a); to.push(b); }
    }
    return Array.from(joined.matchAll(WORD), (m) => [from[m.index], to[m.index + m[0].length - 1], m[0]]);
  }

  return { fold, words, spans };
})();
