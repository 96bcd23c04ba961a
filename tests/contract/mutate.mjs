// Writes a copy of the spec with one change a client would notice, to prove the type check
// catches it: `node mutate.mjs <in.yaml> <out.yaml> drop-operation|retype-field`.
import { readFileSync, writeFileSync } from "node:fs";
import yaml from "js-yaml";

const [input, output, mutation] = process.argv.slice(2);
const spec = yaml.load(readFileSync(input, "utf8"));
switch (mutation) {
  case "drop-operation":
    delete spec.paths["/reports/mine"].get;
    break;
  case "retype-field":
    spec.components.schemas.NearbyPlace.properties.distance_m = { type: "string" };
    break;
  default:
    throw new Error(`unknown mutation ${mutation}`);
}
writeFileSync(output, yaml.dump(spec));
