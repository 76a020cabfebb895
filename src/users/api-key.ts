/**
 * API keys are 32 random bytes. Only their SHA-256 is stored: the key's entropy makes a slow
 * hash unnecessary, and a fast one keeps every request's lookup a single indexed read.
 */
import { hash, randomBytes } from "node:crypto";

export function generateApiKey(): string {
  return randomBytes(32).toString("base64url");
}

export function hashApiKey(key: string): string {
  return hash("sha256", key, "hex");
}
