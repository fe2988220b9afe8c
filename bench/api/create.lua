-- POST a new service per request (unique names per thread and request).
local counter = 0
local thread_id = 0
function setup(thread)
  thread:set("id", thread_id)
  thread_id = thread_id + 1
end
function request()
  counter = counter + 1
  local body = string.format(
    '{"name":"bench-%d-%d","protocol":"tcp","endpoints":[{"host":"10.9.%d.%d","port":9000}]}',
    id, counter, counter % 250, math.floor(counter / 250) % 250 + 1)
  return wrk.format("POST", os.getenv("BENCH_CREATE_PATH"), {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN"),
  }, body)
end
