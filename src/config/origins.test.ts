import { describe, expect, it } from "vitest";
import {
  contentOfHost,
  originConflict,
  originOfContent,
  parseContentOrigin,
  parseOrigin,
} from "./origins.js";

const GUID = "0b6f3c3e-6a43-4e55-9c55-2a3c0b1b9a1d";

describe("content origins", () => {
  it("parses one origin for all content and one per content item", () => {
    expect(parseContentOrigin("https://content.example.com")).toEqual({
      kind: "shared",
      origin: { scheme: "https", hostname: "content.example.com", port: "" },
    });
    expect(parseContentOrigin("http://{guid}.content.test:8080")).toEqual({
      kind: "per-content",
      scheme: "http",
      suffix: ".content.test",
      port: "8080",
    });
  });

  it("refuses anything but scheme://host[:port]", () => {
    for (const bad of [
      "content.example.com",
      "ftp://x.example",
      "https://x.example/path",
      "https://{guid}x.example",
      "https://a.{guid}.example",
    ]) {
      expect(() => parseContentOrigin(bad), bad).toThrow();
    }
  });

  it("tells which content a Host header names, default ports included", () => {
    const per = parseContentOrigin("https://{guid}.content.example.com");
    expect(contentOfHost(per, `${GUID}.content.example.com`)).toBe(GUID);
    expect(contentOfHost(per, `${GUID}.content.example.com:443`)).toBe(GUID);
    expect(contentOfHost(per, `${GUID}.content.example.com:8443`)).toBeNull();
    expect(contentOfHost(per, "evil.content.example.com")).toBeNull();
    expect(contentOfHost(per, "slipway.example.com")).toBeNull();
    const shared = parseContentOrigin("http://content.test:3939");
    expect(contentOfHost(shared, "CONTENT.test:3939")).toBe("any");
    expect(contentOfHost(shared, "content.test")).toBeNull();
    expect(originOfContent(per, GUID)).toBe(`https://${GUID}.content.example.com`);
  });

  it("refuses a content origin whose host would receive the dashboard's cookies", () => {
    const dashboard = parseOrigin("https://slipway.example.com");
    expect(
      originConflict(parseContentOrigin("https://slipway.example.com:8443"), dashboard),
    ).toMatch(/another host name/);
    expect(originConflict(parseContentOrigin("http://content.example.com"), dashboard)).toMatch(
      /https/,
    );
    expect(
      originConflict(parseContentOrigin("https://{guid}.content.example.com"), dashboard),
    ).toBeNull();
  });
});
