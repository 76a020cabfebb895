/** The names shown for the users and groups that permissions refer to by guid. */
import { api, type Group, type Person } from "./api";

export const personLabel = (p: Person) => {
  const name = `${p.first_name} ${p.last_name}`.trim();
  return name ? `${name} (${p.username})` : p.username;
};

export async function principalNames(
  principals: Array<{ guid: string; type: string }>,
): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  await Promise.all(
    principals.map(async (p) => {
      const label =
        p.type === "group"
          ? await api<Group>("GET", `/v1/groups/${p.guid}`).then((g) => `${g.name} (group)`)
          : await api<Person>("GET", `/v1/users/${p.guid}`).then(personLabel);
      names.set(p.guid, label);
    }),
  );
  return names;
}
