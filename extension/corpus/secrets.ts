// Replaces credentials in source text with "<secret>" before anything is parsed, tokenized or
// written, and counts the replacements per rule. Rules are shapes published by the issuers (AWS,
// Google, Azure, GitHub, Slack, Stripe, OpenAI, npm, GitLab, SendGrid, Discord), PEM and PuTTY
// private keys (also base64-encoded), JWTs, HTTP Authorization credentials, passwords in connection
// strings, high-entropy values assigned to credential-like names and any value assigned to a
// password-like name. Knows nothing of files or tokens.

export const SECRET_PLACEHOLDER = '<secret>';

interface SecretRule {
  name: string;
  /** Cheap test on the whole text before the regex runs (most files contain none of these). */
  hint: RegExp;
  regex: RegExp;
  /** Capture group to replace (0: the whole match). */
  group?: number;
  /** Extra check on the captured value. */
  accept?(value: string): boolean;
  /**
   * Full control for rules that need more than one group or the surrounding text: the replacement
   * for the whole match, or undefined to keep it. `groups` are the regex's capture groups.
   */
  replace?(groups: (string | undefined)[], offset: number, input: string): string | undefined;
}

/** Shannon entropy in bits per character. */
export function entropy(s: string): number {
  const counts = new Map<string, number>();
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

/** A value worth scrubbing when assigned to a credential-like name: long, varied, not code. */
function looksLikeSecretValue(v: string): boolean {
  if (v.length < 8) return false;
  if (v === SECRET_PLACEHOLDER) return false;
  // References, not values: environment lookups, templates, placeholders.
  if (/^(\$|%|\{\{|<|process\.env|os\.environ|getenv|env\(|ENV\[|\[\[)/i.test(v)) return false;
  if (/^(x+|\*+|\.+|-+|changeme|password|secret|token|example|dummy|placeholder|your[_-].*|none|null|true|false|undefined)$/i.test(v)) return false;
  // Identifiers (snake/camel words) are code, not secrets.
  if (/^[A-Za-z_][A-Za-z_.]*$/.test(v) && !/[A-Z].*[a-z].*[A-Z]/.test(v.slice(1))) return false;
  const classes = Number(/[a-z]/.test(v)) + Number(/[A-Z]/.test(v)) + Number(/[0-9]/.test(v)) + Number(/[^A-Za-z0-9]/.test(v));
  if (classes < 2) return false;
  return entropy(v) >= (v.length >= 20 ? 3.5 : 3.0);
}

/**
 * A reference to a value kept elsewhere, not the value: shell and template variables (`$VAR`,
 * `${...}`, `$(...)`, `{{...}}`, `#{...}`, `{name}`), printf and Windows forms (`%s`, `%(x)s`,
 * `%VAR%`), `<...>` placeholders (our own `<secret>` included, which keeps scrubbing idempotent).
 * `$2b$...` (a bcrypt hash) is not a reference.
 */
function isReference(v: string): boolean {
  return /^(?:\$[{(A-Za-z_]|\{|#\{|%[(sdr]|%[A-Za-z_]\w*%|<.*>$|process\.env|os\.environ|getenv|env\(|ENV\[|\[\[)/i.test(v);
}

/** Values that stand for "put your password here". */
function isPlaceholder(v: string): boolean {
  return /^(?:x+|\*+|\.+|-+|_+|•+|changeme|change[_-]?me|change[_-]?it|pass|password|passwd|pwd|secret|token|example|dummy|placeholder|redacted|hidden|none|null|nil|undefined|true|false|your[_-].*|enter[_-].*)$/i.test(v);
}

/** The password part of `scheme://user:password@host`: scrubbed unless a reference or placeholder. */
function isUrlPassword(v: string): boolean {
  return !isReference(v) && !isPlaceholder(v);
}

/**
 * Names a password (the key ends with it): `password`, `db_password`, `spring.datasource.password`,
 * `PGPASSWORD`, `passphrase`, `DB_PASS`, `dbPass`, `admin_pwd`. The short forms `pass` and `pwd`
 * need a word boundary before them, so that `bypass` and `compass` are not passwords. Names that
 * merely start with a password word (`password_hint`, `passwordHash`) are left to `assigned-secret`.
 */
export function isPasswordName(key: string): boolean {
  const k = key.replace(/^[-$@]+/, '');
  return /(?:password|passwd|passphrase)$/i.test(k) || /(?:^|[._-])(?:pass|pwd)$/i.test(k) || /[a-z0-9](?:Pass|Pwd)$/.test(k);
}

/** Whether the text from the start of its line to `end` leaves a `quote` string literal open. */
function insideString(input: string, end: number, quote: string): boolean {
  let open = false;
  for (let i = input.lastIndexOf('\n', end - 1) + 1; i < end; i++) {
    if (input[i] === '\\') i++;
    else if (input[i] === quote) open = !open;
  }
  return open;
}

/**
 * The value of `password = ...` and its kin, for the `password` rule: human passwords (words,
 * spaces, low entropy) are secrets too. `groups`: [keyword, separator, quote, quoted value, bare
 * value]. Returns the replacement, or undefined to keep the match.
 */
function scrubPassword(groups: (string | undefined)[], offset: number, input: string): string | undefined {
  const [keyword = '', sep = '', quote, quoted, bare] = groups;
  const head = /[\w.$@-]*$/.exec(input.slice(Math.max(0, offset - 80), offset))![0];
  if (!isPasswordName(head + keyword)) return undefined;
  const value = quoted ?? bare ?? '';
  if (value.length < 8 || isReference(value) || isPlaceholder(value)) return undefined;
  // Paths: `PWD=/home/me` is the shell's working directory, `password_file: /run/secrets/db` a path.
  if (/^(?:\/|~\/|\.\.?\/|[A-Za-z]:\\)/.test(value)) return undefined;
  if (quote !== undefined) {
    // `"Password: " + user + "!"`: the keyword sits inside a string literal (an odd number of quotes
    // before it on its line) and the "value" is the code between two literals. A quoted key
    // (`"password": "..."`) repeats the quote before the separator.
    if (insideString(input, offset - head.length, quote) && !sep.startsWith(quote)) return undefined;
    // Sentences that mention the password are labels, prompts and messages ("Enter your password").
    if (/\s/.test(value) && /pass|pwd/i.test(value)) return undefined;
    // Names, not values: "DB_PASSWORD" (an environment variable), "challengePassword" (an attribute).
    if (/^[A-Za-z_]+$/.test(value) && /pass|pwd/i.test(value)) return undefined;
  } else {
    // Bare values: YAML needs a space after the colon; identifiers and attribute paths without
    // digits (`password = new_password`, `db.password = config.secret`) are code, not values.
    if (sep.trimEnd().endsWith(':') && !/[ \t]$/.test(sep)) return undefined;
    if (/^[A-Za-z_][A-Za-z_.]*$/.test(value)) return undefined;
  }
  return keyword + sep + (quote ?? '') + SECRET_PLACEHOLDER + (quote ?? '');
}

/** An HTTP Authorization credential: a Bearer token with some variety, or Basic base64 of `user:pass`. */
function isAuthorizationCredential(scheme: string, v: string): boolean {
  if (/^basic$/i.test(scheme)) {
    if (v.length < 8 || !/^[A-Za-z0-9+/]+={0,2}$/.test(v)) return false;
    return /^[\x20-\x7e]*:[\x20-\x7e]*$/.test(Buffer.from(v, 'base64').toString('latin1'));
  }
  if (v.length < 20 || isPlaceholder(v)) return false;
  const classes = Number(/[a-z]/.test(v)) + Number(/[A-Z]/.test(v)) + Number(/[0-9]/.test(v));
  return classes >= 2 && entropy(v) >= 3.5;
}

/** Base64 text that decodes to a PEM private key (`LS0tLS1CRUdJTi` is base64 of "-----BEGIN "). */
function isBase64PrivateKey(v: string): boolean {
  const head = v.replace(/\s+/g, '').slice(0, 120);
  return /^-----BEGIN [A-Z0-9 ]*PRIVATE KEY/.test(Buffer.from(head, 'base64').toString('latin1'));
}

const NAME = String.raw`(?:pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|client[_-]?secret|auth[_-]?token|credentials?|session[_-]?key|signing[_-]?key|encryption[_-]?key)`;

const PEM_BEGIN = String.raw`-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----`;
const PEM_END = String.raw`-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----`;
/**
 * What follows a BEGIN marker in a real key: optional quotes and (escaped) newlines, optional
 * headers (Proc-Type, DEK-Info), then a run of 40 base64 characters.
 */
const PEM_BODY_START = String.raw`(?:\s|\\[nr]|["'])*(?:[A-Za-z-]+:[ \t][^\n\\]*(?:\n|\\n)(?:\s|\\[nr])*)*[A-Za-z0-9+/]{40}`;

export const SECRET_RULES: readonly SecretRule[] = [
  {
    name: 'private-key',
    hint: /PRIVATE KEY/,
    // The body is base64 with optional headers (Proc-Type, DEK-Info), possibly inside a string
    // literal with escaped newlines; requiring that keeps a bare marker in code from swallowing code.
    // Second form: a marker followed by real key material but no END marker where the first form
    // looks (a truncated paste, a key cut off by the size limit): everything up to the next END
    // marker, or to the end of the text, goes.
    regex: new RegExp(
      String.raw`${PEM_BEGIN}(?:[A-Za-z0-9+/=\s:,.\\"'-]{40,}?${PEM_END}|(?=${PEM_BODY_START})[\s\S]*?(?:${PEM_END}|$))`,
      'g',
    ),
  },
  {
    // Kubernetes secrets (`tls.key:`) and kubeconfig `client-key-data:` hold PEM keys base64-encoded,
    // on one line or wrapped. Certificates and public keys encode the same way and are kept.
    name: 'private-key-base64',
    hint: /LS0tLS1CRUdJTi/,
    regex: /LS0tLS1CRUdJTi[A-Za-z0-9+/]*={0,2}(?:\r?\n[ \t]*[A-Za-z0-9+/]{16,}={0,2}(?![^\r\n]))*/g,
    accept: isBase64PrivateKey,
  },
  {
    // PuTTY .ppk: the lines after `Private-Lines: N` are the private key (the public lines and the
    // MAC are not secret).
    name: 'putty-private-key',
    hint: /Private-Lines:/,
    // Key material starts with a base64 line of 20+ characters (a 256-bit key alone is 44): a
    // short word after the header is not a key (the memorization audit places model outputs there).
    regex: /(Private-Lines:[ \t]*\d+[ \t]*\r?\n)([A-Za-z0-9+/]{20,}={0,2}(?:[ \t]*\r?\n[A-Za-z0-9+/]+={0,2})*)(?![^\r\n])/g,
    group: 2,
  },
  { name: 'aws-access-key-id', hint: /A[SKBC][IC]A/, regex: /\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b/g },
  {
    name: 'aws-secret-access-key',
    hint: /aws/i,
    regex: /(aws.{0,20}?(?:secret|private).{0,20}?[=:]\s*["'`]?)([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])/gi,
    group: 2,
  },
  { name: 'gcp-api-key', hint: /AIza/, regex: /\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/g },
  {
    name: 'gcp-service-account-key-id',
    hint: /private_key_id/,
    regex: /("private_key_id"\s*:\s*")([0-9a-f]{40})(")/g,
    group: 2,
  },
  { name: 'gcp-oauth-secret', hint: /GOCSPX-/, regex: /\bGOCSPX-[A-Za-z0-9_-]{28}(?![A-Za-z0-9_-])/g },
  {
    name: 'azure-storage-key',
    hint: /AccountKey=/,
    regex: /(AccountKey=)([A-Za-z0-9+/]{86}==)/g,
    group: 2,
  },
  { name: 'azure-sas-signature', hint: /sig=/, regex: /([?&]sig=)([A-Za-z0-9%+/=]{40,})/g, group: 2 },
  { name: 'azure-client-secret', hint: /Q~/, regex: /(?<![A-Za-z0-9_~.-])[A-Za-z0-9_~.-]{3}\dQ~[A-Za-z0-9_~.-]{31,34}(?![A-Za-z0-9_~.-])/g },
  { name: 'github-token', hint: /gh[pousr]_|github_pat_/, regex: /\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{60,255})\b/g },
  { name: 'slack-token', hint: /xox|xapp-/, regex: /\b(?:xox[abposre]|xapp)-[A-Za-z0-9-]{10,250}\b/g },
  {
    name: 'slack-webhook',
    hint: /hooks\.slack\.com/,
    regex: /https:\/\/hooks\.slack\.com\/(?:services|workflows)\/[A-Za-z0-9/_+-]{20,}/g,
  },
  {
    name: 'discord-webhook',
    hint: /discord(?:app)?\.com\/api/,
    regex: /https:\/\/(?:(?:ptb|canary)\.)?discord(?:app)?\.com\/api\/(?:v\d+\/)?webhooks\/\d{5,30}\/[A-Za-z0-9_-]{20,}/g,
  },
  {
    // Secret and restricted keys, and webhook signing secrets (`whsec_`, also Standard Webhooks').
    name: 'stripe-key',
    hint: /_(?:live|test)_|whsec_/,
    regex: /\b(?:(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,247}\b|whsec_[A-Za-z0-9+/]{24,}={0,2}(?![A-Za-z0-9+/=]))/g,
  },
  {
    // `sk-`, `sk-proj-`, `sk-svcacct-`, `sk-admin-` (OpenAI; Anthropic's `sk-ant-` has the same
    // shape). Keys are random mixed-case base62; demanding lower, upper and a digit keeps CSS class
    // names like `sk-fading-circle` (SpinKit) out.
    name: 'openai-key',
    hint: /sk-/,
    regex: /\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}/g,
    accept: (v) => /[a-z]/.test(v) && /[A-Z]/.test(v) && /[0-9]/.test(v),
  },
  { name: 'npm-token', hint: /npm_/, regex: /\bnpm_[A-Za-z0-9]{36}(?![A-Za-z0-9])/g },
  {
    // Personal, deploy, pipeline trigger and runner tokens.
    name: 'gitlab-token',
    hint: /gl(?:pat|dt|ptt|rt)-/,
    regex: /\bgl(?:pat|dt|ptt|rt)-[A-Za-z0-9_.-]{20,}(?![A-Za-z0-9_.-])/g,
  },
  { name: 'sendgrid-key', hint: /SG\./, regex: /\bSG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{16,64}(?![A-Za-z0-9_-])/g },
  {
    name: 'jwt',
    hint: /eyJ/,
    regex: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g,
  },
  {
    // `Authorization: Bearer <token>` (after `jwt`, so that a JWT bearer counts as a JWT) and Basic
    // credentials; the scheme stays. `Bearer ${token}` and `Bearer YOUR_TOKEN` are code.
    name: 'authorization-header',
    hint: /[Bb]earer|[Bb]asic/,
    regex: /\b([Bb]earer|[Bb]asic)([ \t]+)([A-Za-z0-9._~+/-]+=*)(?![A-Za-z0-9._~+/=-])/g,
    replace: ([scheme = '', gap = '', value = '']) =>
      isAuthorizationCredential(scheme, value) ? scheme + gap + SECRET_PLACEHOLDER : undefined,
  },
  {
    // `postgres://admin:PASSWORD@db`, `mysql+pymysql://root:PASSWORD@localhost`, `redis://:PASSWORD@cache`:
    // the scheme, user and host stay. Runs before `assigned-secret` so that `SECRET_URL=...` loses
    // just the password.
    name: 'connection-string-password',
    hint: /:\/\/[^\s@/]*:[^\s@/]*@/,
    regex: /\b([A-Za-z][A-Za-z0-9+.-]{1,30}:\/\/[^\s:@/"'`<>]*:)([^\s@/?#"'`]+)(@)(?=[^\s"'`])/g,
    group: 2,
    accept: isUrlPassword,
  },
  {
    // `password = "..."`, `api_key: ...`, `"client_secret": "..."`, `TOKEN=...`; the value is kept
    // only when it is short, low-entropy or a reference (see looksLikeSecretValue). Name parts are
    // bounded ({0,40}) so that a long run of word characters cannot make the regex quadratic.
    name: 'assigned-secret',
    hint: /pass|pwd|secret|token|key|credential/i,
    regex: new RegExp(
      String.raw`(\b[\w.-]{0,40}${NAME}[\w-]{0,40}["']?\s*(?::=|=>|[:=])\s*(?:["'\x60]))([^"'\x60\s]{8,200})(?=["'\x60])` +
        String.raw`|(\b[\w.-]{0,40}${NAME}[\w-]{0,40}[ \t]*(?:=|:(?=[ \t]))[ \t]*)([^\s"'\x60,;:()\[\]{}<>$][^\s"'\x60,;()\[\]{}<>]{7,199})(?=\s|$|[,;])`,
      'gim',
    ),
    replace: ([p1, v1, p2, v2]) => (looksLikeSecretValue(v1 ?? v2 ?? '') ? (p1 ?? p2 ?? '') + SECRET_PLACEHOLDER : undefined),
  },
  {
    // Any value of 8+ characters assigned to a password-like name (isPasswordName), spaces and low
    // entropy allowed: `spring.datasource.password=Summer2024`, `password = "correct horse battery
    // staple"`. After `assigned-secret`, which keeps counting the high-entropy ones. Kept:
    // references, placeholders, paths, bare identifiers, labels (scrubPassword). The regex starts
    // at the keyword (cheap to find); the callback looks back for the rest of the name.
    name: 'password',
    hint: /pass|pwd/i,
    regex: /(pass(?:word|wd|phrase)?|pwd)(["']?[ \t]*(?::=|=>|=(?!=)|:(?![:=]))[ \t]*)(?:(["'`])((?:(?!\3)[^\\\r\n]|\\.){8,200})\3|([^\s"'`,;:()\[\]{}<>$#%][^\s"'`,;()\[\]{}<>]{7,199})(?=\s|$|[,;]))/gi,
    replace: scrubPassword,
  },
];

export interface ScrubResult {
  text: string;
  counts: Record<string, number>;
  total: number;
}

export function scrubSecrets(text: string): ScrubResult {
  const counts: Record<string, number> = {};
  let total = 0;
  let out = text;
  for (const rule of SECRET_RULES) {
    if (!rule.hint.test(out)) continue;
    rule.regex.lastIndex = 0;
    let n = 0;
    out = out.replace(rule.regex, (...args: unknown[]) => {
      const match = args[0] as string;
      // replace() passes the match, the groups, the offset and the input (no named groups here).
      const groups = args.slice(1, -2) as (string | undefined)[];
      let replacement: string | undefined;
      if (rule.replace) {
        replacement = rule.replace(groups, args[args.length - 2] as number, args[args.length - 1] as string);
      } else if (rule.group) {
        const g = rule.group;
        if (!rule.accept || rule.accept(groups[g - 1] ?? '')) {
          replacement = groups.map((s, k) => (k === g - 1 ? SECRET_PLACEHOLDER : s ?? '')).join('');
        }
      } else if (!rule.accept || rule.accept(match)) {
        replacement = SECRET_PLACEHOLDER;
      }
      if (replacement === undefined) return match;
      n++;
      return replacement;
    });
    if (n) {
      counts[rule.name] = n;
      total += n;
    }
  }
  return { text: out, counts, total };
}
