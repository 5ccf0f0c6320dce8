-- Reads a customer's single view and identities as one consistent snapshot.
--
-- KEYS[1] view hash   KEYS[2] identity set
-- Returns {view fields and values as a flat list, identities}; an empty view
-- means the customer does not exist.
return {redis.call('HGETALL', KEYS[1]), redis.call('SMEMBERS', KEYS[2])}
