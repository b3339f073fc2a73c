"""A load generator batchlab did not write: the official openai Python package (AsyncOpenAI,
keep-alive connections from its httpx pool), driving `batchlab serve` with a plan of
requests that batchlab drew (planLoad), so the run is the one the simulator predicts.

Reads {"url", "loop": "open"|"closed", "clients", "requests": [{"at", "prompt", "maxTokens"}]}
on stdin; prints {"monotonicStart": the first send on CLOCK_MONOTONIC in seconds, "cpuSeconds": the
process's user + system CPU time from the first send to the last finish, "records": [...]},
each record's times in seconds since the first send:
{"index", "send", "tokenTimes", "tokens", "finish", "status", "error", "id"} (id: the response's).
"""
import asyncio
import json
import resource
import sys
import time

import openai


async def main(plan):
    client = openai.AsyncOpenAI(base_url=f"{plan['url']}/v1", api_key="not-needed", max_retries=0, timeout=600)
    reqs = plan["requests"]
    records = [None] * len(reqs)
    # Warm connections before the clock starts, as batchlab's client does.
    warm = plan["clients"] if plan["loop"] == "closed" else 16
    await asyncio.gather(*(client.models.list() for _ in range(warm)))
    t0 = time.perf_counter()
    monotonic_start = time.clock_gettime(time.CLOCK_MONOTONIC) - (time.perf_counter() - t0)
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)

    async def send(i):
        q = reqs[i]
        rec = {"index": i, "send": time.perf_counter() - t0, "tokenTimes": [], "tokens": [], "finish": None, "status": 0}
        records[i] = rec
        try:
            stream = await client.completions.create(model="batchlab", prompt=q["prompt"], max_tokens=q["maxTokens"], stream=True)
            rec["status"] = 200
            async for chunk in stream:
                rec.setdefault("id", chunk.id)
                if chunk.choices and chunk.choices[0].text:
                    t = time.perf_counter() - t0
                    for part in chunk.choices[0].text.split():
                        rec["tokenTimes"].append(t)
                        rec["tokens"].append(int(part))
        except openai.APIStatusError as e:
            rec["status"] = e.status_code
            rec["error"] = str(e)
        except Exception as e:  # a failed connection: status 0
            rec["error"] = repr(e)
        rec["finish"] = time.perf_counter() - t0

    if plan["loop"] == "open":
        tasks = []
        for i, q in enumerate(reqs):
            wait = q["at"] - (time.perf_counter() - t0)
            if wait > 0:
                await asyncio.sleep(wait)
            tasks.append(asyncio.create_task(send(i)))
        await asyncio.gather(*tasks)
    else:
        nxt = 0

        async def worker():
            nonlocal nxt
            while nxt < len(reqs):
                i = nxt
                nxt += 1
                await send(i)

        await asyncio.gather(*(worker() for _ in range(plan["clients"])))
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = cpu1.ru_utime - cpu0.ru_utime + cpu1.ru_stime - cpu0.ru_stime
    await client.close()
    return {"monotonicStart": monotonic_start, "cpuSeconds": cpu, "records": records}


print(json.dumps(asyncio.run(main(json.load(sys.stdin)))))
