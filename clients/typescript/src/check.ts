// A client in another language, generated from generated/openapi.json alone (openapi-typescript for the
// types, openapi-fetch for the calls), compiled with `tsc --strict` and run against `wecom standin` by
// scripts/check-typescript-client.sh. It checks that the document is enough to call the API correctly and
// that it says what the spec says: required fields are required in the generated types (checked at
// compile time below), and the answers match the stand-in's data set.
//
// Environment: WECOM_BASE_URL, WECOM_CORP_ID, WECOM_SECRET (the stand-in's first stdout line), and
// EXPECT_MEMBERS, EXPECT_CUSTOMERS (its `customers` config).

import createClient, { type Client } from "openapi-fetch";
import type { components, paths } from "./schema.js"; // generated: npm run generate

// Node's globals this file uses, declared here instead of depending on @types/node.
declare const process: { env: Record<string, string | undefined>; exitCode?: number };

type Schemas = components["schemas"];

// Compile-time assertions: `true` only fits when K is a required (non-optional) key of T.
type IsRequired<T, K extends keyof T> = {} extends Pick<T, K> ? false : true;
const requiredInTheDocument: [
  IsRequired<Schemas["CustomerWithFollowInfo"], "follow_info">,
  IsRequired<Schemas["CustomerWithFollowInfo"], "external_contact">,
  IsRequired<Schemas["GettokenResponse"], "access_token">,
  IsRequired<Schemas["GetResponse"], "external_contact">,
  IsRequired<Schemas["FollowInfo"], "userid">,
  IsRequired<Schemas["WeComStatus"], "errcode">,
] = [true, true, true, true, true, true];
// ...and an optional field stays optional (the assertion can fail). Unused otherwise, so the check below reads both.
const optionalInTheDocument: IsRequired<Schemas["BatchGetByUserResponse"], "next_cursor"> = false;

function env(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") {
    throw new Error(`${name} is not set`);
  }
  return value;
}

function check(condition: boolean, what: string): asserts condition {
  if (!condition) {
    throw new Error(`check failed: ${what}`);
  }
}

/** The generated client, with the access_token security scheme (a query parameter) added to every call. */
function clientWith(baseUrl: string, accessToken: string | null): Client<paths> {
  const client = createClient<paths>({ baseUrl });
  if (accessToken !== null) {
    client.use({
      onRequest({ request }) {
        const url = new URL(request.url);
        url.searchParams.set("access_token", accessToken);
        return new Request(url, request);
      },
    });
  }
  return client;
}

async function main(): Promise<void> {
  const baseUrl = `${env("WECOM_BASE_URL")}/cgi-bin`;
  const corpid = env("WECOM_CORP_ID");
  const secret = env("WECOM_SECRET");
  const expectMembers = Number(env("EXPECT_MEMBERS"));
  const expectCustomers = Number(env("EXPECT_CUSTOMERS"));
  check(requiredInTheDocument.every((r) => r) && !optionalInTheDocument, "compile-time assertions");

  // gettoken: a wrong secret is refused, the right one gives a token.
  const anonymous = clientWith(baseUrl, null);
  const refused = await anonymous.GET("/gettoken", { params: { query: { corpid, corpsecret: `${secret}-wrong` } } });
  check(refused.data !== undefined && refused.data.errcode === 40001, `wrong secret: errcode 40001, got ${refused.data?.errcode}`);
  const token = await anonymous.GET("/gettoken", { params: { query: { corpid, corpsecret: secret } } });
  check(token.data !== undefined && token.data.errcode === 0, `gettoken: errcode 0, got ${token.data?.errcode}`);
  const accessToken: string = token.data.access_token;
  check(accessToken.length > 0 && Number(token.data.expires_in) > 0, "gettoken: a token and its lifetime");
  console.log(`gettoken: errcode 0, a token for ${token.data.expires_in} s`);

  // The token is checked: a made-up one is refused, so the calls below succeed because of the middleware.
  const forged = await clientWith(baseUrl, "not-a-token").GET("/externalcontact/get_follow_user_list");
  check(forged.data?.errcode === 40014, `made-up token: errcode 40014, got ${forged.data?.errcode}`);

  const client = clientWith(baseUrl, accessToken);

  // A GET: the members with 客户联系.
  const follow = await client.GET("/externalcontact/get_follow_user_list");
  check(follow.data !== undefined && follow.data.errcode === 0, `get_follow_user_list: errcode ${follow.data?.errcode}`);
  const members: string[] = follow.data.follow_user ?? [];
  check(members.length === expectMembers, `get_follow_user_list: ${expectMembers} members, got ${members.length}`);
  console.log(`get_follow_user_list: ${members.length} members`);

  // A paged POST: every member's customers through batch/get_by_user, following next_cursor to the end.
  const customers = new Map<string, Set<string>>();
  let items = 0;
  let pages = 0;
  for (let i = 0; i < members.length; i += 100) {
    const userid_list = members.slice(i, i + 100);
    let cursor = "";
    do {
      const page = await client.POST("/externalcontact/batch/get_by_user", {
        body: { userid_list, cursor, limit: 100 },
      });
      check(page.data !== undefined && page.data.errcode === 0, `batch/get_by_user: errcode ${page.data?.errcode}`);
      pages += 1;
      for (const item of page.data.external_contact_list ?? []) {
        // Required in the spec, so no `!` or `?.` is needed (or allowed to be needed).
        const info: Schemas["FollowInfo"] = item.follow_info;
        const contact: Schemas["BatchExternalContact"] = item.external_contact;
        // An open enum is a number (its "other" case has a type), not `unknown`.
        const addWay: number | undefined = info.add_way;
        check(userid_list.includes(info.userid), `batch/get_by_user: follower ${info.userid} was asked for`);
        check(
          typeof addWay === "number" && Number.isInteger(addWay) && addWay >= 0,
          `batch/get_by_user: add_way is a documented code (a non-negative integer), got ${addWay}`,
        );
        const followers = customers.get(contact.external_userid) ?? new Set<string>();
        check(!followers.has(info.userid), `batch/get_by_user: ${contact.external_userid} twice under ${info.userid}`);
        customers.set(contact.external_userid, followers.add(info.userid));
        items += 1;
      }
      cursor = page.data.next_cursor ?? "";
    } while (cursor !== "");
  }
  check(customers.size === expectCustomers, `batch/get_by_user: ${expectCustomers} customers, got ${customers.size}`);
  check(pages === Math.ceil(items / 100) && pages > 1, `batch/get_by_user: ${items} items on ${pages} pages of 100`);
  console.log(`batch/get_by_user: ${customers.size} customers (${items} with their followers) on ${pages} pages`);

  // A GET with a query: one customer and the members following them, as batch/get_by_user said.
  const [someone, followers] = [...customers.entries()].find(([, f]) => f.size > 1) ?? [];
  check(someone !== undefined && followers !== undefined, "a customer with two followers");
  const one = await client.GET("/externalcontact/get", { params: { query: { external_userid: someone } } });
  check(one.data !== undefined && one.data.errcode === 0, `get: errcode ${one.data?.errcode}`);
  const contact: Schemas["ExternalContact"] = one.data.external_contact;
  const followedBy = (one.data.follow_user ?? []).map((f) => f.userid).sort();
  check(contact.external_userid === someone, "get: the customer asked for");
  check(followedBy.join() === [...followers].sort().join(), `get: followers ${followedBy.join()}`);
  console.log(`get: ${someone}, followed by ${followedBy.join(" and ")}`);

  // A write: a member's remark on one of their customers, then a new corp tag group.
  const remark = await client.POST("/externalcontact/remark", {
    body: { userid: followedBy[0] ?? "", external_userid: someone, remark: "checked from TypeScript" },
  });
  check(remark.data?.errcode === 0, `remark: errcode 0, got ${remark.data?.errcode}`);
  const added = await client.POST("/externalcontact/add_corp_tag", {
    body: { group_name: "TypeScript", tag: [{ name: "checked" }] },
  });
  check(added.data !== undefined && added.data.errcode === 0, `add_corp_tag: errcode ${added.data?.errcode}`);
  const group = added.data.tag_group;
  check(group !== undefined && group.group_id.length > 0, "add_corp_tag: the new group's id");
  console.log(`remark: errcode 0; add_corp_tag: group ${group.group_id} with ${group.tag?.length ?? 0} tags`);
}

main().then(
  () => console.log("typescript client: all checks passed"),
  (error: unknown) => {
    console.error(`typescript client: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
