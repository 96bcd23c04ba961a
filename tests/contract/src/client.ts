// A typed client for the xinhuoban API over `wx.request`, built only from the types that
// openapi-typescript generates from api-spec/openapi.yaml. Every path, method, parameter, body
// and answer below is checked against the spec by `tsc --strict`: an operation the spec loses,
// or a field whose type changes, fails the check.
import type { components, paths } from "../generated/api";

export type Schemas = components["schemas"];
type HttpMethod = "get" | "post" | "put" | "patch" | "delete";
const JSON_TYPE = "application/json; charset=utf-8";
type Json = typeof JSON_TYPE;

/** The paths that answer `M`. */
type PathsWith<M extends HttpMethod> = {
  [P in keyof paths]: paths[P][M] extends never | undefined ? never : P;
}[keyof paths];
type Operation<P extends keyof paths, M extends HttpMethod> = NonNullable<paths[P][M]>;

type Parameters<O> = O extends { parameters: infer A } ? A : never;
type PathParams<O> = Parameters<O> extends { path: infer A } ? A : never;
type QueryParams<O> = Parameters<O> extends { query?: infer A } ? A : never;
type HeaderParams<O> = Parameters<O> extends { header?: infer A } ? A : never;
type BodyContent<O> = O extends { requestBody?: infer RB } ? NonNullable<RB> : never;
type JsonBody<O> = [BodyContent<O>] extends [never]
  ? never
  : BodyContent<O> extends { content: { [K in Json]: infer B } }
    ? B
    : never;
/** Whether the operation's `key` parameters may be left out altogether. */
type Optional<O, K extends string> = {} extends Pick<Parameters<O>, K & keyof Parameters<O>> ? true : false;

type Responses<O> = O extends { responses: infer R } ? R : never;
type JsonOf<R> = R extends { content: { [K in Json]: infer B } } ? B : undefined;
type SuccessStatus = 200 | 201 | 204;
/** What a successful answer carries. */
export type Answer<O> = JsonOf<Responses<O>[Extract<keyof Responses<O>, SuccessStatus>]>;
type ErrorStatuses<O> = Exclude<Extract<keyof Responses<O>, number>, SuccessStatus>;
/** Each error status the operation documents, with its body. */
export type Failure<O> = {
  [S in ErrorStatuses<O>]: { ok: false; status: S; error: JsonOf<Responses<O>[S]> } & RetryAfter<Responses<O>[S]>;
}[ErrorStatuses<O>];
/** Where the spec declares `Retry-After` (every 429), the seconds to wait. */
type RetryAfter<R> = R extends { headers: { "Retry-After": number } } ? { retryAfterSecs: number } : {};
export type Outcome<O> = { ok: true; status: SuccessStatus; data: Answer<O> } | Failure<O>;

/** Only the parts an operation has; required where the spec requires them. */
type Options<O> = ([PathParams<O>] extends [never] ? {} : { path: PathParams<O> }) &
  ([QueryParams<O>] extends [never] ? {} : Optional<O, "query"> extends true ? { query?: QueryParams<O> } : { query: QueryParams<O> }) &
  ([HeaderParams<O>] extends [never] ? {} : { header?: HeaderParams<O> }) &
  ([JsonBody<O>] extends [never] ? {} : { body: JsonBody<O> });

export class Client {
  token: string | undefined;

  constructor(readonly baseUrl: string) {}

  call<M extends HttpMethod, P extends PathsWith<M>>(
    method: M,
    path: P,
    options: Options<Operation<P, M>>,
  ): Promise<Outcome<Operation<P, M>>> {
    const o = options as { path?: Record<string, string>; query?: Record<string, unknown>; header?: Record<string, string>; body?: unknown };
    const url = this.baseUrl + fillPath(path, o.path) + queryString(o.query);
    const header: Record<string, string> = { "content-type": JSON_TYPE, ...(o.header ?? {}) };
    if (this.token !== undefined) header["authorization"] = `Bearer ${this.token}`;
    return new Promise((resolve, reject) => {
      wx.request({
        url,
        method: method.toUpperCase() as Uppercase<M>,
        header,
        data: o.body,
        success: (res) => resolve(outcome(res.statusCode, res.header, res.data) as Outcome<Operation<P, M>>),
        fail: (err) => reject(new Error(err.errMsg)),
      });
    });
  }

  /** `wx.uploadFile` for a photo: the multipart field name is the spec's. */
  uploadPhoto(filePath: string): Promise<Outcome<Operation<"/media", "post">>> {
    const field: keyof MultipartBody<Operation<"/media", "post">> = "file";
    return new Promise((resolve, reject) => {
      wx.uploadFile({
        url: this.baseUrl + "/media",
        filePath,
        name: field,
        header: this.token === undefined ? {} : { authorization: `Bearer ${this.token}` },
        success: (res) => resolve(outcome(res.statusCode, {}, JSON.parse(res.data)) as Outcome<Operation<"/media", "post">>),
        fail: (err) => reject(new Error(err.errMsg)),
      });
    });
  }
}

type MultipartBody<O> = O extends { requestBody: { content: { "multipart/form-data": infer B } } } ? B : never;

function fillPath(template: string, params: Record<string, string> | undefined): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(params?.[name] ?? ""));
}

function queryString(query: Record<string, unknown> | undefined): string {
  if (query === undefined) return "";
  const parts: string[] = [];
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) {
      parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(String(one))}`);
    }
  }
  return parts.length === 0 ? "" : `?${parts.join("&")}`;
}

function outcome(status: number, header: Record<string, string>, data: unknown) {
  if (status >= 200 && status < 300) return { ok: true, status, data };
  const retry = header["Retry-After"] ?? header["retry-after"];
  return { ok: false, status, error: data, ...(retry === undefined ? {} : { retryAfterSecs: Number(retry) }) };
}

/** `wx.login()` as a promise: the one-time code the server exchanges at WeChat. */
export function wxLoginCode(): Promise<string> {
  return new Promise((resolve, reject) => wx.login({ success: (r) => resolve(r.code), fail: (e) => reject(new Error(e.errMsg)) }));
}
