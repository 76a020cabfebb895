/** The stand-in's pure parts: selectors, patches, quantities, scheduling fit, env expansion, pull credentials. */
import { describe, expect, it } from "vitest";
import { expand } from "./kubelet/container-env.js";
import { credentialsFor } from "./kubelet/images.js";
import { applyMerge, fieldSet, jsonPatch, mergePatch, strategicMergePatch } from "./patch.js";
import { parseQuantity } from "./quantity.js";
import { unfit } from "./scheduler.js";
import {
  matchesFields,
  matchesRequirements,
  parseFieldSelector,
  parseLabelSelector,
} from "./selectors.js";
import { StatusError } from "./status-error.js";
import type { Pod } from "./types.js";

describe("label selectors", () => {
  const labels = { app: "web", tier: "front", env: "prod" };
  it.each([
    ["app=web", true],
    ["app==web", true],
    ["app!=web", false],
    ["missing!=x", true],
    ["tier in (front,back)", true],
    ["tier notin (front)", false],
    ["env", true],
    ["!env", false],
    ["!missing", true],
    ["app=web,tier in (back, front),!missing,env notin (dev)", true],
    ["", true],
  ])("%s matches: %s", (text, expected) => {
    expect(matchesRequirements(parseLabelSelector(text), labels)).toBe(expected);
  });
  it("refuses what the API server cannot parse, with a 400", () => {
    expect(() => parseLabelSelector("app=(x")).toThrow(StatusError);
  });
  it("field selectors select by the fields a kind supports, and refuse others", () => {
    const event = {
      involvedObject: { kind: "Pod", name: "p" },
      reason: "Failed",
      metadata: { name: "e" },
    };
    expect(
      matchesFields(parseFieldSelector("involvedObject.name=p,reason!=Started", "Event"), event),
    ).toBe(true);
    expect(matchesFields(parseFieldSelector("involvedObject.kind=Job", "Event"), event)).toBe(
      false,
    );
    expect(() => parseFieldSelector("spec.foo=x", "Pod")).toThrow(
      "field label not supported: spec.foo",
    );
  });
});

describe("patches", () => {
  it("merge patch (RFC 7386) replaces lists and deletes on null", () => {
    expect(
      mergePatch({ a: 1, b: { c: 2, d: 3 }, l: [1, 2] }, { b: { c: null, e: 4 }, l: [3] }),
    ).toEqual({ a: 1, b: { d: 3, e: 4 }, l: [3] });
  });
  it("strategic merge merges lists by merge key and honours $patch: delete", () => {
    const live = {
      spec: {
        containers: [
          { name: "a", image: "x", env: [{ name: "A", value: "1" }] },
          { name: "b", image: "y" },
        ],
        finalizers: ["f1"],
      },
    };
    const patched = strategicMergePatch(live, {
      spec: {
        "$setElementOrder/containers": [{ name: "a" }, { name: "b" }],
        containers: [
          { name: "a", env: [{ name: "B", value: "2" }] },
          { name: "b", $patch: "delete" },
        ],
        finalizers: ["f2"],
      },
    });
    expect(patched).toEqual({
      spec: {
        containers: [
          {
            name: "a",
            image: "x",
            env: [
              { name: "A", value: "1" },
              { name: "B", value: "2" },
            ],
          },
        ],
        finalizers: ["f1", "f2"],
      },
    });
  });
  it("JSON patch applies add, replace, remove, move, copy and test", () => {
    const doc = { a: { b: [1, 2] }, c: "x" };
    expect(
      jsonPatch(doc, [
        { op: "add", path: "/a/b/-", value: 3 },
        { op: "replace", path: "/c", value: "y" },
        { op: "copy", from: "/c", path: "/d" },
        { op: "move", from: "/d", path: "/e" },
        { op: "remove", path: "/a/b/0" },
        { op: "test", path: "/e", value: "y" },
      ]),
    ).toEqual({ a: { b: [2, 3] }, c: "y", e: "y" });
    expect(() => jsonPatch(doc, [{ op: "test", path: "/c", value: "z" }])).toThrow(StatusError);
  });
  it("server-side apply removes what the same manager stopped setting, keeps what others set", () => {
    const firstApply = { data: { a: "1", b: "2" } };
    const live = { metadata: { name: "x" }, data: { a: "1", b: "2", other: "kept" } };
    const next = applyMerge(live, { data: { a: "1", c: "3" } }, fieldSet(firstApply));
    expect(next).toEqual({ metadata: { name: "x" }, data: { a: "1", c: "3", other: "kept" } });
    const env = {
      spec: {
        containers: [
          {
            name: "c",
            env: [
              { name: "OLD", value: "1" },
              { name: "KEEP", value: "1" },
            ],
          },
        ],
      },
    };
    const applied = {
      spec: {
        containers: [
          {
            name: "c",
            env: [
              { name: "KEEP", value: "1" },
              { name: "NEW", value: "2" },
            ],
          },
        ],
      },
    };
    expect(applyMerge(env, applied, fieldSet(env))).toEqual({
      spec: {
        containers: [
          {
            name: "c",
            env: [
              { name: "KEEP", value: "1" },
              { name: "NEW", value: "2" },
            ],
          },
        ],
      },
    });
  });
});

describe("quantities", () => {
  it.each([
    ["512Mi", 512 * 2 ** 20],
    ["1.5Gi", 1.5 * 2 ** 30],
    ["250m", 0.25],
    ["2", 2],
    ["1e3", 1000],
    ["1k", 1000],
  ])("%s is %d", (text, value) => expect(parseQuantity(text)).toBe(value));
});

describe("scheduling fit", () => {
  const node = {
    name: "n",
    capacity: { cpu: "2", memory: "1Gi", pods: "110" },
    labels: { zone: "a" },
    taints: [{ key: "k", value: "v", effect: "NoSchedule" as const }],
  };
  const pod = (spec: Partial<Pod["spec"]>): Pod => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p" },
    spec: {
      containers: [{ name: "c", image: "x" }],
      tolerations: [{ key: "k", operator: "Exists" }],
      ...spec,
    },
  });
  const needs = (memory: string) => [
    { name: "c", image: "x", resources: { requests: { memory } } },
  ];
  it("counts what other pods on the node already requested", () => {
    expect(unfit(pod({ containers: needs("600Mi") }), node, [], () => true).reasons).toEqual([]);
    expect(
      unfit(
        pod({ containers: needs("600Mi") }),
        node,
        [pod({ containers: needs("600Mi") })],
        () => true,
      ).reasons,
    ).toEqual(["1 Insufficient memory"]);
  });
  it("matches required node affinity against the node's labels", () => {
    const affinity = (values: string[]) => ({
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: "zone", operator: "In", values }] }],
        },
      },
    });
    expect(unfit(pod({ affinity: affinity(["a", "b"]) }), node, [], () => true).reasons).toEqual(
      [],
    );
    expect(unfit(pod({ affinity: affinity(["b"]) }), node, [], () => true).reasons).toEqual([
      "1 node(s) didn't match Pod's node affinity/selector",
    ]);
  });
  it("refuses a pod that does not tolerate the node's taint", () => {
    expect(unfit(pod({ tolerations: [] }), node, [], () => true).reasons).toEqual([
      "1 node(s) had untolerated taint {k: v}",
    ]);
  });
});

describe("the kubelet's variable expansion", () => {
  it("expands $(VAR) from earlier variables and leaves unknown ones and $$ escapes alone", () => {
    expect(expand("$(A)-$(MISSING)-$$(A)", { A: "x" })).toBe("x-$(MISSING)-$(A)");
  });
});

describe("image pull credentials", () => {
  it("come from a dockerconfigjson Secret for the image's registry", () => {
    const config = {
      auths: {
        "127.0.0.1:5000": { auth: Buffer.from("user:p:ss").toString("base64") },
        "other.example": { username: "u", password: "p" },
      },
    };
    const secret = {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "s" },
      type: "kubernetes.io/dockerconfigjson",
      data: { ".dockerconfigjson": Buffer.from(JSON.stringify(config)).toString("base64") },
    };
    expect(credentialsFor("127.0.0.1:5000/team/app:1", [secret])).toEqual({
      username: "user",
      password: "p:ss",
      serveraddress: "127.0.0.1:5000",
    });
    expect(credentialsFor("docker.io/library/busybox", [secret])).toBeUndefined();
  });
});
