-- wrk script: GET /api/v1/places/nearby from random centres over the 50 km x 50 km load-test city.
math.randomseed(os.time())
local lat0, lng0 = 30.275, 120.16
local half_lat, half_lng = 0.2248, 0.2602

request = function()
  local lat = lat0 + (math.random() * 2 - 1) * half_lat
  local lng = lng0 + (math.random() * 2 - 1) * half_lng
  return wrk.format("GET", string.format("/api/v1/places/nearby?lat=%.6f&lng=%.6f&radius_m=3000&limit=20", lat, lng))
end
