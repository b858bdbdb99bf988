// PostgreSQL values into the one value model (src/core/values.ts), the same for `pg` and for PGlite: the
// session prints values in fixed, zone-free forms and these parsers read that text, never through JS Date/float.
import { hexToBytes } from '../values';

/** Pinned for every call inside its read-only transaction (SET LOCAL ends with it). DateStyle sets only the
 *  output format ("ISO"); the day/month order used to read the user's literals stays the server's. */
export const PG_SESSION_SETTINGS: readonly string[] = [
  "SET LOCAL TimeZone = 'UTC'",
  "SET LOCAL DateStyle = 'ISO'",
  "SET LOCAL IntervalStyle = 'iso_8601'",
  'SET LOCAL extra_float_digits = 3',
  "SET LOCAL bytea_output = 'hex'",
];
/** The same as one simple-protocol message. */
export const PG_SESSION_SQL = PG_SESSION_SETTINGS.join('; ');

type Parser = (s: string) => unknown;

const text: Parser = s => s;
const int: Parser = s => Number(s);
const int8: Parser = s => BigInt(s);
// Number() reads "NaN", "Infinity", "-Infinity" and the shortest-exact digits PostgreSQL prints
const float: Parser = s => Number(s);
const bool: Parser = s => s === 't';
/** "2020-01-02 03:04:05.123456" → "2020-01-02T03:04:05.123456"; infinity and BC dates stay as PostgreSQL wrote them. */
const timestamp: Parser = s => (/^\d{4,}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?$/.test(s) ? s.replace(' ', 'T') : s);
/** With TimeZone UTC the offset is always +00: "2020-01-02 03:04:05.5+00" → "2020-01-02T03:04:05.5Z". */
const timestamptz: Parser = s => {
  const m = /^(\d{4,}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?)\+00$/.exec(s);
  return m ? `${m[1]}T${m[2]}Z` : s;
};
/** "04:05:06+02" → "04:05:06+02:00". */
const timetz: Parser = s => s.replace(/([+-]\d\d)$/, '$1:00');
const bytea: Parser = s => hexToBytes(s) ?? s;

/** Scalar parsers by type OID; any other type is kept as PostgreSQL's text (uuid, enum, text, money, ...). */
const SCALAR: Record<number, Parser> = {
  16: bool, 17: bytea, 20: int8, 21: int, 23: int, 26: int, 700: float, 701: float, 1700: text,
  1082: text, 1083: text, 1266: timetz, 1114: timestamp, 1184: timestamptz, 1186: text,
  114: text, 3802: text, 2950: text, 25: text, 1043: text, 1042: text, 19: text, 18: text,
};
/** Array OIDs and their element OIDs. */
const ARRAYS: Record<number, number> = {
  1000: 16, 1001: 17, 1016: 20, 1005: 21, 1007: 23, 1028: 26, 1021: 700, 1022: 701, 1231: 1700,
  1182: 1082, 1183: 1083, 1270: 1266, 1115: 1114, 1185: 1184, 1187: 1186, 199: 114, 3807: 3802,
  2951: 2950, 1009: 25, 1015: 1043, 1014: 1042, 1003: 19, 1002: 18,
};

/** PostgreSQL array text ("{1,NULL,\"a b\"}", nested, with an optional "[0:2]=" bounds prefix) into JS arrays. */
export function parsePgArray(s: string, element: Parser, delimiter = ','): unknown {
  let i = 0;
  if (s[0] === '[') { const eq = s.indexOf('='); if (eq > 0) i = eq + 1; }
  const parse = (): unknown[] => {
    if (s[i] !== '{') throw new Error(`malformed array literal: ${s}`);
    i++;
    const out: unknown[] = [];
    if (s[i] === '}') { i++; return out; }
    for (;;) {
      if (s[i] === '{') out.push(parse());
      else if (s[i] === '"') {
        let v = '';
        i++;
        while (i < s.length && s[i] !== '"') { if (s[i] === '\\') i++; v += s[i++]; }
        i++;
        out.push(element(v));
      } else {
        let j = i;
        while (j < s.length && s[j] !== delimiter && s[j] !== '}') j++;
        const raw = s.slice(i, j).trim();
        i = j;
        out.push(raw === 'NULL' ? null : element(raw));
      }
      if (s[i] === delimiter) { i++; continue; }
      if (s[i] === '}') { i++; return out; }
      throw new Error(`malformed array literal: ${s}`);
    }
  };
  return parse();
}

/** Parsers by OID, for PGlite's `parsers` option and behind `pg`'s getTypeParser. */
export const PG_PARSERS: Record<number, Parser> = { ...SCALAR };
for (const [arr, el] of Object.entries(ARRAYS)) {
  const p = SCALAR[el] ?? text;
  PG_PARSERS[Number(arr)] = s => parsePgArray(s, p);
}

/** For `pg`'s query config `types`: text results through PG_PARSERS; everything else as text. */
export const PG_TYPES = {
  getTypeParser: (oid: number, format?: string): Parser => (format === 'binary' ? (x => x) : PG_PARSERS[oid] ?? text),
};
