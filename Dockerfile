# One image for every tunecost service: api, runner, ray-head, ray-worker, dashboard.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    RAY_AUTH_MODE=disabled

WORKDIR /app
# torch first, pinned: the ray-worker uses its CUDA kernels when a GPU is reserved.
RUN pip install "torch==2.13.0"
COPY pyproject.toml README.md ./
COPY api ./api
COPY service ./service
COPY workers ./workers
COPY search_spaces ./search_spaces
COPY migrations ./migrations
RUN pip install .

EXPOSE 8000 8080
ENTRYPOINT ["tunecost"]
CMD ["serve", "--host", "0.0.0.0", "--no-runner"]
