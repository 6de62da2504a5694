// Package runners holds what every runner shares: the Request and Response
// of one inference; the Codec interface of a wire protocol (HTTPCodec for
// the HTTP ones, configured by the record's runtime.http as HTTPConfig); the
// Spec that starts a session of a pinned system; the Session interface,
// with the optional Batcher (several runs in flight) and Finisher (nothing
// printed after the last run); the Info a session reports; the Budget of a
// session's timeouts; Tail, a bounded stderr tail that explains why a
// system's output ended; and the errors runners report (ErrCrashed,
// ErrTimeout, ErrProtocol…, *RunError naming the run, *OutOfStepError).
//
// Runners are lifecycle × protocol, one package each. A lifecycle starts
// the pinned system (or reaches it) once per session and answers many runs
// through it: runners/docker (a sandboxed container through the Docker
// Engine API), runners/process (a local executable, not pinned) and
// runners/endpoint (an HTTP server that is already running, not pinned);
// the HTTP ones share runners/httpsess, the HTTP session. A codec encodes
// requests, decodes responses and defines the bytes an exact match
// compares: runners/jsonl (jsonl-stdio; its Conn carries a stdio codec's
// lines to a started system), runners/openai and runners/kserve (HTTP). A
// codec never imports a lifecycle. runners/wire maps a record's protocol
// name to its codec; no other code compares protocol names. runners/hwclass
// detects the hardware class of this host, and runners/runnertest is the
// conformance suite every runner, real or fake, passes.
//
// The contract with the system under replay (jsonl-stdio protocol):
//   - one JSON request per line on stdin:
//     {"id": "r0", "input": <any JSON>, "params": {"seed": 42, "temperature": 0.7, ...}};
//     a system ignores the fields it does not know;
//   - exactly one JSON response per line on stdout, and only in answer to a
//     request: {"id": "r0", "label": "approved", "score": 0.87, "text": null}
//     or {"id": "r0", "error": "message"} for a request it could not answer
//     (an error answer is an outcome of that run, the session goes on);
//     echoing "id" is optional but, once echoed, every response must carry
//     the id of its request. A line that arrives while no request is
//     outstanding, or an echoed id that is not the request's, is a protocol
//     error (*OutOfStepError): the session is out of step;
//   - a response is at most Spec.MaxResponseBytes long (--max-response-size);
//   - the model file is at the path in $REPRISE_MODEL and the config file at
//     $REPRISE_CONFIG (in a container: /reprise/model and /reprise/config, read-only).
//
// Packages of reprise that use runners declare the small interfaces they need;
// this package imports only the leaves output and system.
package runners
