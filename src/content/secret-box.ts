/**
 * Encrypts values at rest with the server's key (AES-256-GCM). The key is given by the
 * `[Server] SecretKey` setting (base64 of 32 bytes, so Helm keeps it in a Secret), or else
 * kept in `DataDir/secret.key`, made on the first start with mode 0600. Servers sharing the
 * data folder share the file; the first to make it wins and the others read it.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";

const KEY_BYTES = 32;
const IV_BYTES = 12;
const VERSION = "v1";

export class SecretBox {
  private constructor(private readonly key: Buffer) {}

  static fromKey(key: Buffer): SecretBox {
    if (key.length !== KEY_BYTES) {
      throw new Error(`The secret key must be ${KEY_BYTES} bytes, not ${key.length}.`);
    }
    return new SecretBox(key);
  }

  /** The configured key, or the data folder's, made now if there is none yet. */
  static async open(dataDir: string, configured: string): Promise<SecretBox> {
    if (configured !== "") return SecretBox.fromKey(Buffer.from(configured, "base64"));
    const file = path.join(dataDir, "secret.key");
    const fresh = randomBytes(KEY_BYTES).toString("base64");
    try {
      await writeFile(file, `${fresh}\n`, { flag: "wx", mode: 0o600 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const text = (await readFile(file, "utf8")).trim();
    return SecretBox.fromKey(Buffer.from(text, "base64"));
  }

  seal(plain: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    const sealed = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
    return [VERSION, iv, cipher.getAuthTag(), sealed]
      .map((part) => (typeof part === "string" ? part : part.toString("base64url")))
      .join(".");
  }

  open(sealed: string): string {
    const [version, iv, tag, data] = sealed.split(".");
    if (version !== VERSION || iv === undefined || tag === undefined || data === undefined) {
      throw new Error("A sealed value is not in a form this server knows.");
    }
    const decipher = createDecipheriv("aes-256-gcm", this.key, Buffer.from(iv, "base64url"));
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    return Buffer.concat([
      decipher.update(Buffer.from(data, "base64url")),
      decipher.final(),
    ]).toString("utf8");
  }
}
