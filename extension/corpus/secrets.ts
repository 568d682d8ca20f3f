// Replaces credentials in source text with "<secret>" before anything is parsed, tokenized or
// written, and counts the replacements per rule. Rules are shapes published by the issuers (AWS,
// Google, Azure, GitHub, Slack, Stripe), PEM private key blocks, JWTs, and high-entropy values
// assigned to credential-like names. Knows nothing of files or tokens.

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

const NAME = String.raw`(?:pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|client[_-]?secret|auth[_-]?token|credentials?|session[_-]?key|signing[_-]?key|encryption[_-]?key)`;

export const SECRET_RULES: readonly SecretRule[] = [
  {
    name: 'private-key',
    hint: /PRIVATE KEY/,
    // The body is base64 with optional headers (Proc-Type, DEK-Info), possibly inside a string
    // literal with escaped newlines; requiring that keeps a bare marker in code from swallowing code.
    regex: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[A-Za-z0-9+/=\s:,.\\"'-]{40,}?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/g,
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
  { name: 'slack-token', hint: /xox/, regex: /\bxox[abposr]-[A-Za-z0-9-]{10,250}\b/g },
  {
    name: 'slack-webhook',
    hint: /hooks\.slack\.com/,
    regex: /https:\/\/hooks\.slack\.com\/(?:services|workflows)\/[A-Za-z0-9/_+-]{20,}/g,
  },
  { name: 'stripe-key', hint: /_(?:live|test)_/, regex: /\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,247}\b/g },
  {
    name: 'jwt',
    hint: /eyJ/,
    regex: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g,
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
    if (rule.name === 'assigned-secret') {
      out = out.replace(rule.regex, (m: string, p1?: string, v1?: string, p2?: string, v2?: string) => {
        const prefix = p1 ?? p2 ?? '';
        const value = v1 ?? v2 ?? '';
        if (!looksLikeSecretValue(value)) return m;
        n++;
        return prefix + SECRET_PLACEHOLDER;
      });
    } else if (rule.group) {
      const g = rule.group;
      out = out.replace(rule.regex, (...args: unknown[]) => {
        const groups = args.slice(1, -2) as (string | undefined)[];
        if (rule.accept && !rule.accept(groups[g - 1] ?? '')) return args[0] as string;
        n++;
        return groups.map((s, k) => (k === g - 1 ? SECRET_PLACEHOLDER : s ?? '')).join('');
      });
    } else {
      out = out.replace(rule.regex, () => {
        n++;
        return SECRET_PLACEHOLDER;
      });
    }
    if (n) {
      counts[rule.name] = n;
      total += n;
    }
  }
  return { text: out, counts, total };
}
