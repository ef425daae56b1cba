/**
 * Text in a secret's shape that holds none: documentation placeholders (`ghp_xxxx…`, `pnu_XXXX…`,
 * `glc_1111…`), AWS's published example keys, and PEM blocks too short to hold a key. A placeholder
 * in a log is what an agent read in a README, not a credential; redacting it only hides what the
 * agent saw. Applied to the context and entropy detectors and to secretlint; gitleaks' provider
 * rules keep their own entropy floors and allowlists (detect.ts).
 */

function isAlnum(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/**
 * One character (case folded) makes up at least half of the letters and digits: `xoxb-xxxxxxxxx-…`,
 * `sha256~_xxxxxx_…`, `AIzaaaaa…`. A random payload of 8 or more characters never does, while a
 * real key's runs of `A` (base64 of zero bytes, as in OpenSSH keys) stay a small share of it.
 */
function isFiller(secret: string): boolean {
  const counts = new Map<number, number>();
  let total = 0;
  let top = 0;
  for (let i = 0; i < secret.length; i++) {
    let c = secret.charCodeAt(i);
    if (!isAlnum(c)) continue;
    if (c >= 65 && c <= 90) c += 32;
    total++;
    const n = (counts.get(c) ?? 0) + 1;
    counts.set(c, n);
    if (n > top) top = n;
  }
  return total >= 8 && top * 2 >= total;
}

// A PEM block whose body is shorter than any key (the smallest, an Ed25519 key, has 64 base64 characters).
const SHORT_PEM = /^-----BEGIN [A-Z0-9 ]+-----\s*[\s\S]{0,63}?\s*-----END [A-Z0-9 ]+-----$/u;

/** Whether a detector's span is a placeholder rather than a secret. */
export function isPlaceholder(secret: string): boolean {
  // AWS documents its examples as AKIAIOSFODNN7EXAMPLE and wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY;
  // gitleaks' AWS rule lets `…EXAMPLE` through for the same reason.
  if (secret.includes('EXAMPLE')) return true;
  if (secret.startsWith('-----BEGIN ')) return SHORT_PEM.test(secret.trim());
  return isFiller(secret);
}
