/**
 * The number inside the ways PBXs, SIP headers and address books wrap one, so that caller IDs, phonebook entries and
 * dial's numbers written like this are read as the number they hold:
 * - a display name and angle brackets: `"Bob" <0355501234>`, `Bob <sip:0355501234@pbx>`;
 * - a SIP or tel URI: `sip:0355501234@pbx;user=phone`, `sips:...`, `tel:+61355501234`;
 * - an Asterisk channel technology: `SIP/0355501234`, `PJSIP/0355501234@trunk`;
 * - an extension after the number, which is not part of it: `0355501234;ext=12`, `0355501234 x12`, `... ext. 12`.
 * Anything else comes back trimmed and otherwise as it was: what is left is judged by the caller (caller-id.ts,
 * dial-input.ts). Knows nothing of Node-RED.
 */

/** The first `<...>`: the address of a name-addr (RFC 3261), the display name before it being only a label. */
const ANGLE = /<([^<>]*)>/;
/** A quoted display name (RFC 3261 quoted-string), which may itself hold `<...>`: `"Bob <mobile>" <0355501234>`. */
const QUOTED_NAME = /^"(?:[^"\\]|\\.)*"\s*(?=<)/;
const URI = /^(?:sips?|tel):/i;
/** `SIP/`, `PJSIP/`, `IAX2/`, `DAHDI/`...: the same shape as dial's Technology (dial-input.ts TECH). */
const CHANNEL = /^[A-Za-z][A-Za-z0-9]{0,19}\//;
/**
 * An extension at the end: `;ext=12` (RFC 3966), or `x12`, `ext 12`, `ext. 12`, `extn 12`, `extension 12` after a
 * digit, a closing parenthesis or a space (so that a word ending in x is not taken for one).
 */
const EXTENSION = /(?:;\s*ext\s*=\s*[0-9]{1,10}|(?<=[0-9)\s]),?\s*(?:x|ext\.?|extn\.?|extension)\s*[0-9]{1,10})\s*$/i;

export function unwrapNumber(text: string): string {
  let s = text.trim();
  const angle = ANGLE.exec(s.replace(QUOTED_NAME, ""));
  if (angle) s = angle[1].trim();
  if (URI.test(s)) {
    // The user part of sip:user@host, without its parameters, headers or password; a tel: number without them too.
    s = s.slice(s.indexOf(":") + 1);
    const at = s.indexOf("@");
    if (at !== -1) s = s.slice(0, at);
    s = s.split(/[;?:]/)[0];
  } else if (CHANNEL.test(s)) {
    s = s.slice(s.indexOf("/") + 1);
    const at = s.indexOf("@");
    if (at !== -1) s = s.slice(0, at);
  }
  return s.replace(EXTENSION, "").trim();
}
