-- POST /api/v1/auth/login with the admin credentials from the environment.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"username":"admin","password":"' .. os.getenv("BENCH_ADMIN_PASSWORD") .. '"}'
