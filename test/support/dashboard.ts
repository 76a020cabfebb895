/** Signing in to the dashboard and taking its screenshots, for the browser tests. */
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { SCREENSHOTS } from "./browser.js";
import type { TestServer } from "./server.js";

export const PASSWORD = "correct horse battery";
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

export interface Dashboard {
  signIn(username: string, viewport?: { width: number; height: number }): Promise<Page>;
  open(page: Page, hash: string): Promise<void>;
  shot(page: Page, name: string): Promise<unknown>;
}

export function dashboard(browser: () => Browser, server: () => TestServer): Dashboard {
  return {
    async signIn(username, viewport = DESKTOP) {
      const page = await browser().newPage({ viewport });
      // Shorter than a test's own timeout, so a missing element is named rather than the test timing out.
      page.setDefaultTimeout(15_000);
      await page.goto(`${server().url}/connect/`);
      await page.getByLabel("Username").fill(username);
      await page.getByLabel("Password").fill(PASSWORD);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByRole("button", { name: "Sign out" }).waitFor();
      return page;
    },
    async open(page, hash) {
      await page.goto(`${server().url}/connect/#${hash}`);
    },
    shot: (page, name) =>
      page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true }),
  };
}

/** Adds a user with names and a password through the API, as an administrator would. */
export async function addPerson(
  server: TestServer,
  username: string,
  role: string,
  first: string,
  last: string,
): Promise<string> {
  const added = await server.call("POST", "/__api__/v1/users", {
    body: { username, first_name: first, last_name: last, password: PASSWORD, user_role: role },
  });
  if (added.status !== 200) throw new Error(`adding ${username}: ${JSON.stringify(added.body)}`);
  return added.body.guid;
}
