"""An outside client for `batchlab serve`: the official openai Python package.

Usage: python openai_client.py BASE_URL. Prints one JSON object with what it saw; every
request is bounded by a timeout and the client does not retry.
"""
import asyncio
import json
import sys
import time

import openai

base = sys.argv[1]
client = openai.OpenAI(base_url=f"{base}/v1", api_key="not-needed", max_retries=0, timeout=60)
out = {"version": openai.__version__}

prompt = [3, 1, 4, 1, 5, 9, 2, 6]
out["completion"] = client.completions.create(model="batchlab", prompt=prompt, max_tokens=8).choices[0].text
text = ""
finish = None
for chunk in client.completions.create(model="batchlab", prompt=prompt, max_tokens=8, stream=True):
    if chunk.choices:
        text += chunk.choices[0].text
        finish = chunk.choices[0].finish_reason
out["completion_streamed"] = text
out["completion_streamed_finish"] = finish

messages = [{"role": "user", "content": "hi"}]
chat = client.chat.completions.create(model="batchlab", messages=messages, max_tokens=6)
out["chat"] = chat.choices[0].message.content
out["chat_object"] = chat.object
text = ""
for chunk in client.chat.completions.create(model="batchlab", messages=messages, max_tokens=6, stream=True):
    assert chunk.object == "chat.completion.chunk", chunk.object
    if chunk.choices:
        text += chunk.choices[0].delta.content or ""
out["chat_streamed"] = text

out["model"] = client.models.retrieve("batchlab").id
seeded = [client.completions.create(model="batchlab", prompt=prompt, max_tokens=8, temperature=1.2, seed=7).choices[0].text for _ in range(2)]
out["seeded_equal"] = seeded[0] == seeded[1]
stop = client.completions.create(model="batchlab", prompt=prompt, max_tokens=8, stop=[out["completion"].split(" ")[3]])
out["stop_finish"] = stop.choices[0].finish_reason

errors = {}
for name, kwargs in {"temperature": {"temperature": 5}, "top_p": {"top_p": 7}, "logprobs": {"logprobs": 2}, "best_of": {"best_of": 2}, "echo": {"echo": True}}.items():
    try:
        client.completions.create(model="batchlab", prompt=prompt, max_tokens=2, **kwargs)
        errors[name] = None
    except openai.BadRequestError as e:
        errors[name] = {"status": e.status_code, "param": (e.body or {}).get("param")}
out["errors"] = errors


async def concurrent(n):
    """n streams at once on an AsyncOpenAI client (fresh connections): TTFT and tokens of each."""
    aclient = openai.AsyncOpenAI(base_url=f"{base}/v1", api_key="not-needed", max_retries=0, timeout=60)

    async def one(i):
        t0 = time.perf_counter()
        first = None
        tokens = 0
        stream = await aclient.completions.create(model="batchlab", prompt=[i + 1, 2, 3], max_tokens=6, stream=True)
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].text:
                first = first or time.perf_counter() - t0
                tokens += len(chunk.choices[0].text.split())
        return {"ttft": first, "tokens": tokens}

    try:
        return await asyncio.gather(*(one(i) for i in range(n)))
    finally:
        await aclient.close()


out["concurrent"] = asyncio.run(concurrent(8))
print(json.dumps(out))
