-- What a top-customer ranking refresh reads of one customer, in one
-- snapshot: its view hash (its purchases), the rankings it is in, and the
-- customers merged into it (their entries go).
--
-- KEYS[1] view hash   KEYS[2] ranked-in hash   KEYS[3] alias set
-- Returns {view fields and values, ranked-in fields and values, aliases}.

return {redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2]),
        redis.call('SMEMBERS', KEYS[3])}
