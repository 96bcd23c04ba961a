-- wrk script: POST /api/v1/rewards/$REWARD_ID/redeem as many riders (tokens from the file $TOKENS,
-- one a line), each request with a random rider's token and a new Idempotency-Key: every request
-- is a new attempt on the same reward (the contention is its stock row).
local tokens = {}
for line in io.lines(os.getenv("TOKENS")) do
  tokens[#tokens + 1] = line
end
local path = "/api/v1/rewards/" .. os.getenv("REWARD_ID") .. "/redeem"
local prefix, n = "", 0

init = function(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
  prefix = string.format("bench-%08x-", math.random(0, 0x7fffffff))
end

request = function()
  n = n + 1
  local headers = {
    ["Authorization"] = "Bearer " .. tokens[math.random(#tokens)],
    ["Idempotency-Key"] = prefix .. n,
  }
  return wrk.format("POST", path, headers)
end
