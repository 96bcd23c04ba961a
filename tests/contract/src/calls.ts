// The calls the mini-program and the staff console make, written as their developers would
// against the generated types. Nothing here runs in CI: it must type-check under `tsc --strict`.
import { Client, Schemas, wxLoginCode } from "./client";

const ORIGIN = "https://xhb.example.cn";
const api = new Client(`${ORIGIN}/api/v1`);

/** A photo's signed URL is an absolute path: `<image src>` and `wx.previewImage` take it whole. */
function photoSrc(photo: Schemas["PhotoUrl"]): string {
  return ORIGIN + photo.url;
}

// A rider logs in with a wx.login() code; a token that expired is renewed the same way.
export async function riderLogsIn(): Promise<Schemas["LoginResponse"]> {
  const code = await wxLoginCode();
  const res = await api.call("post", "/auth/wechat-login", { body: { code } });
  if (!res.ok) throw new Error(`${res.status} ${res.error.code}: ${res.error.message}`);
  api.token = res.data.token;
  const expires: Date = new Date(res.data.expires_at);
  void expires;
  return res.data;
}

// The nearest open stations with hot water and charging, within 3 km, page after page.
export async function nearestStations(lat: number, lng: number): Promise<Schemas["NearbyPlace"][]> {
  const res = await api.call("get", "/places/nearby", {
    query: { lat, lng, coord: "gcj02", radius_m: 3000, kind: ["station"], amenity: ["hot_water", "phone_charging"], open_now: true, limit: 20 },
  });
  if (!res.ok) {
    // Only bad input can fail a search: the field at fault is in `details`.
    const field: string | undefined = res.error.details?.field;
    console.warn(`search refused (${res.error.code}): ${field ?? ""} ${res.error.message}`);
    return [];
  }
  const found: Schemas["NearbyPlace"][] = [];
  for (const place of res.data.items) {
    const metres: number = place.distance_m;
    const open: boolean = place.open_now;
    if (open && metres <= 3000) found.push(place);
  }
  const next: string | undefined = res.data.next_cursor;
  void next;
  return found;
}

// A rider photographs a hazard and files it; a retry on a weak network reuses the key.
export async function fileHazard(photoPath: string, lat: number, lng: number): Promise<string | undefined> {
  const upload = await api.uploadPhoto(photoPath);
  if (!upload.ok) return undefined;
  const mediaId: string = upload.data.id;
  const preview: string = ORIGIN + upload.data.url;
  void preview;
  const idempotencyKey = `${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const res = await api.call("post", "/reports", {
    header: { "Idempotency-Key": idempotencyKey },
    body: {
      category: "road_damage",
      description: "井盖缺失，电动车容易摔倒",
      lat,
      lng,
      coord: "gcj02",
      media_ids: [mediaId],
      anonymous: false,
    },
  });
  if (!res.ok) {
    switch (res.status) {
      case 429: // Too many reports this hour: try again when the server says.
        await new Promise<void>((r) => setTimeout(r, res.retryAfterSecs * 1000));
        return undefined;
      case 401:
        if (res.error.code === "token_expired") await riderLogsIn();
        return undefined;
      case 409: // The same Idempotency-Key with a different report.
        return res.error.code === "idempotency_key_reused" ? undefined : undefined;
      default:
        return undefined;
    }
  }
  return res.data.report.id;
}

// "My reports", and one report's timeline.
export async function myReportsAndOneTimeline(): Promise<string[]> {
  const mine = await api.call("get", "/reports/mine", { query: { limit: 20 } });
  if (!mine.ok) return [];
  const first = mine.data.items[0];
  if (first === undefined) return [];
  const detail = await api.call("get", "/reports/{id}", { path: { id: first.id } });
  if (!detail.ok) return [];
  const status: Schemas["ReportStatusDto"] = detail.data.status;
  void status;
  const urls = detail.data.photo_urls.map(photoSrc);
  const [current] = urls;
  if (current !== undefined) wx.previewImage({ urls, current });
  return detail.data.timeline.map((entry) => `${entry.at} ${entry.kind}`);
}

// A clerk logs in, works the queue: accepts the first report and resolves it with a note.
export async function clerkWorksTheQueue(username: string, password: string): Promise<void> {
  const login = await api.call("post", "/auth/staff-login", { body: { username, password } });
  if (!login.ok) return;
  api.token = login.data.token;
  const queue = await api.call("get", "/triage/reports", { query: { overdue: true, limit: 50 } });
  if (!queue.ok) return;
  const report = queue.data.items[0];
  if (report === undefined) return;
  const overdue: boolean = report.overdue;
  void overdue;
  const accepted = await api.call("post", "/triage/reports/{id}/actions", {
    path: { id: report.id },
    body: { action: "accept", public_note: "已受理，将尽快处理" },
  });
  if (!accepted.ok) {
    if (accepted.status === 409) return;
    return;
  }
  await api.call("post", "/triage/reports/{id}/actions", {
    path: { id: report.id },
    body: { action: "resolve", public_note: "井盖已补装" },
  });
}

// The console's report page: the unit's outline for the small map, a colleague to assign to,
// a unit to transfer to, and a resolve with a photo the clerk uploaded.
export async function consoleReportPage(reportId: string, photoId: string): Promise<number> {
  const unit = await api.call("get", "/triage/unit", { query: {} });
  let vertices = 0;
  if (unit.ok && unit.data.jurisdiction !== undefined) {
    const area: Schemas["GeoJsonArea"] = unit.data.jurisdiction;
    if (area.type === "MultiPolygon") vertices = area.coordinates.flat(2).length;
  }
  const colleagues = await api.call("get", "/triage/colleagues", { query: {} });
  const first = colleagues.ok ? colleagues.data.items[0] : undefined;
  if (first !== undefined) {
    const name: string = first.display_name;
    void name;
    await api.call("post", "/triage/reports/{id}/assign", { path: { id: reportId }, body: { assignee_id: first.id } });
  }
  const units = await api.call("get", "/triage/units", {});
  if (units.ok) {
    const kinds: Schemas["UnitKindDto"][] = units.data.items.map((u) => u.kind);
    void kinds;
  }
  await api.call("post", "/triage/reports/{id}/actions", {
    path: { id: reportId },
    body: { action: "resolve", public_note: "已修复", media_ids: [photoId] },
  });
  return vertices;
}

// A station manager turns the microwave off while it is repaired.
export async function managerChangesAmenities(placeId: string, amenities: Schemas["AmenityDto"][]): Promise<void> {
  const res = await api.call("patch", "/places/{id}", {
    path: { id: placeId },
    body: { amenities: amenities.filter((a) => a !== "microwave") },
  });
  if (res.ok) {
    const kept: Schemas["AmenityDto"][] = res.data.amenities;
    void kept;
  }
}
