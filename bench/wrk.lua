-- One wrk script for every measured request (bench/run.py writes its parameters to a file).
--
--   wrk -t2 -c16 -d10s --latency -s bench/wrk.lua http://127.0.0.1:PORT -- params.txt
--
-- params.txt has `key=value` lines:
--   method=GET|POST      path=/documents/{id}/pdf     body=product_id={id}&quantity=1
--   header=Name: value   (repeatable)                 ids=file with one id per line ({id})
--   offset=N             (first index into ids: each run takes ids no other run used)
--   expect=200           (the status that counts as a success; anything else is counted as bad)
--   mode=checkout        (per connection: add to the cart, then place the order; needs -t = -c)
--   buyers=file          (checkout: "cookie<TAB>csrf<TAB>state<TAB>product" per thread)
--   nonce=text           (checkout: makes the one-time form keys unique across runs)
-- {n} in a path or body is a per-thread counter. At the end one JSON line is printed,
-- prefixed with "BENCH-JSON ", with the totals and latency percentiles.

local threads = {}
local counter = 0

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

local function read_lines(path)
  local out = {}
  for line in io.lines(path) do
    if line ~= "" then table.insert(out, line) end
  end
  return out
end

local function split(text, sep)
  local out = {}
  for part in (text .. sep):gmatch("(.-)" .. sep) do table.insert(out, part) end
  return out
end

function init(args)
  params = {headers = {}}
  for _, line in ipairs(read_lines(args[1])) do
    local key, value = line:match("^([%w_]+)=(.*)$")
    if key == "header" then
      local name, v = value:match("^([^:]+):%s*(.*)$")
      params.headers[name] = v
    elseif key then
      params[key] = value
    end
  end
  params.method = params.method or "GET"
  params.expect = tonumber(params.expect or "200")
  params.offset = tonumber(params.offset or "0")
  ids = params.ids and read_lines(params.ids) or {}
  nthreads = tonumber(params.threads or "1")
  good, bad, placed, step = 0, 0, 0, "add"
  statuses, status_summary, first_bad = {}, "", ""
  if params.mode == "checkout" then
    local fields = split(read_lines(params.buyers)[tid], "\t")
    buyer = {cookie = fields[1], csrf = fields[2], state = fields[3], product = fields[4]}
  end
end

local function fill(text, n, id)
  return (text:gsub("{n}", tostring(n)):gsub("{id}", id or ""))
end

local function checkout_request()
  local headers = {["Cookie"] = buyer.cookie, ["X-CSRFToken"] = buyer.csrf,
                   ["Content-Type"] = "application/x-www-form-urlencoded"}
  if step == "add" then
    headers["HX-Request"] = "true"
    return wrk.format("POST", "/cart/items", headers, "product_id=" .. buyer.product .. "&quantity=1&next=%2Fcatalog%2F")
  end
  local key = string.format("bench-%s-%02d-%08d", params.nonce, tid, counter)
  return wrk.format("POST", "/checkout/", headers,
    "key=" .. key .. "&state=" .. buyer.state .. "&shipping_address=1+Bench+Street&reference=&notes=")
end

function request()
  counter = counter + 1
  if params.mode == "checkout" then return checkout_request() end
  local id = nil
  if #ids > 0 then
    -- Threads interleave: thread t takes indexes offset + t, offset + t + T, ...
    local index = params.offset + (counter - 1) * nthreads + tid
    id = ids[((index - 1) % #ids) + 1]
  end
  local body = params.body and fill(params.body, counter, id) or nil
  return wrk.format(params.method, fill(params.path, counter, id), params.headers, body)
end

local function note(status, ok, body)
  -- wrk hands only plain values from a thread to done(): keep the tally as text too.
  statuses[status] = (statuses[status] or 0) + 1
  local out = {}
  for code, n in pairs(statuses) do table.insert(out, code .. ":" .. n) end
  status_summary = table.concat(out, " ")
  if not ok and first_bad == "" then
    -- The part of the page that says what went wrong, if it can be found.
    body = body or ""
    local at = body:find('role="alert"') or body:find('class="error"') or body:find("<main") or 1
    first_bad = status .. " " .. (body:sub(at, at + 400):gsub("%s+", " "))
  end
end

function response(status, headers, body)
  if params.mode == "checkout" then
    local wanted = step == "add" and 200 or 303
    if status == wanted then good = good + 1 else bad = bad + 1 end
    note(status, status == wanted, body)
    if step == "place" and status == 303 then placed = placed + 1 end
    step = step == "add" and "place" or "add"
    return
  end
  if status == params.expect then good = good + 1 else bad = bad + 1 end
  note(status, status == params.expect, body)
end

function done(summary, latency, requests)
  local g, b, p, codes, sample = 0, 0, 0, {}, ""
  for _, t in ipairs(threads) do
    g = g + t:get("good")
    b = b + t:get("bad")
    p = p + t:get("placed")
    table.insert(codes, t:get("status_summary"))
    if sample == "" then sample = t:get("first_bad") end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH-JSON {"requests": %d, "duration_us": %d, "bytes": %d, "good": %d, "bad": %d, "placed": %d, ' ..
    '"non2xx": %d, "connect_errors": %d, "read_errors": %d, "write_errors": %d, "timeouts": %d, ' ..
    '"p50_ms": %.3f, "p90_ms": %.3f, "p99_ms": %.3f, "mean_ms": %.3f, "max_ms": %.3f, ' ..
    '"statuses": "%s", "first_bad": "%s"}\n',
    summary.requests, summary.duration, summary.bytes, g, b, p, e.status, e.connect, e.read, e.write,
    e.timeout, latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.mean / 1000, latency.max / 1000, table.concat(codes, ","),
    (sample:gsub('[\\"]', "'"):gsub("[%c]", " "))))
end
