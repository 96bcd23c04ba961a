-- wrk script: POST /api/v1/reports as many riders (tokens from the file $TOKENS, one a line),
-- each report at a random point over a 1 degree x 1 degree square, so that almost none lands
-- within 50 m of another of its category and joins it as a "me too": nearly every request files.
local tokens = {}
for line in io.lines(os.getenv("TOKENS")) do
  tokens[#tokens + 1] = line
end
local categories = { "road_damage", "traffic_safety", "environment", "other" }
local lat0, lng0 = 30.0, 119.7
local n = 0

init = function(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end

request = function()
  n = n + 1
  local body = string.format(
    '{"category":"%s","description":"bench report %d","lat":%.6f,"lng":%.6f,"coord":"gcj02"}',
    categories[n % #categories + 1], n, lat0 + math.random(), lng0 + math.random())
  local headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. tokens[math.random(#tokens)],
  }
  return wrk.format("POST", "/api/v1/reports", headers, body)
end
