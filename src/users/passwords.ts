/**
 * Passwords for dashboard sign-in, stored as scrypt hashes with a random salt: slow enough
 * that a stolen database does not give the passwords away cheaply.
 */
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";

const COST = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const KEY_LENGTH = 32;

function derive(password: string, salt: Buffer, cost = COST): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, KEY_LENGTH, cost, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt);
  return `scrypt$${COST.N}$${COST.r}$${COST.p}$${salt.toString("base64")}$${key.toString("base64")}`;
}

export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  const parts = stored?.split("$") ?? [];
  if (parts.length !== 6 || parts[0] !== "scrypt") return false;
  const [, N, r, p, salt, key] = parts;
  const expected = Buffer.from(key!, "base64");
  const actual = await derive(password, Buffer.from(salt!, "base64"), {
    N: Number(N),
    r: Number(r),
    p: Number(p),
    maxmem: COST.maxmem,
  });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

let dummyHash: Promise<string> | undefined;

/**
 * Checks a password against a stored hash; with no usable hash (no such user, or one who
 * signs in with keys only) it checks against a throwaway hash of the same cost and refuses,
 * so a refusal takes as long whether or not the user exists.
 */
export async function verifyPasswordOrDummy(
  password: string,
  stored: string | null | undefined,
): Promise<boolean> {
  if (stored?.startsWith("scrypt$")) return verifyPassword(password, stored);
  dummyHash ??= hashPassword(randomBytes(32).toString("base64url"));
  await verifyPassword(password, await dummyHash);
  return false;
}
