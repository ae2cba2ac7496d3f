import JSONRPC
import Model

/// One request's model work: registered for cancellation, queued on the worker, answered exactly once.
/// What differs between requests is what a superseded job and a missing model answer.
struct ModelJob<Request: RequestType>: Sendable {
    var responder: Responder<Request>
    var flag: CancellationFlag
    /// The document whose completion work this is (nil for code actions).
    var uri: DocumentURI?
    /// Reports `$/progress` for the job, if the client takes it.
    var progress: ProgressReporter?
    /// The answer when a newer request for the same document replaced this one.
    var whenSuperseded: @Sendable () -> Result<Request.Response, ResponseError>
    /// The answer when there is no model to run.
    var whenNoModel: @Sendable (ModelUnavailable) -> Result<Request.Response, ResponseError>
}

extension LanguageServer {
    /// Queues `job` on the model worker; `work` runs with the pipeline unless the job was cancelled
    /// first. A client cancellation is answered -32800; errors `work` throws become error responses.
    func submit<Request: RequestType>(_ job: ModelJob<Request>, configuration: ServerConfiguration, role: ModelRole = .completion,
                                      work: @escaping @Sendable (CompletionPipeline) throws -> Request.Response) {
        job.progress?.start()
        worker.submit(configuration: configuration, role: role) { [self] pipeline in
            let answer: Result<Request.Response, ResponseError>
            if job.flag.isCancelled {
                answer = cancelledAnswer(job)
            } else {
                switch pipeline {
                case .failure(let problem):
                    answer = job.whenNoModel(problem)
                case .success(let pipeline):
                    do {
                        let result = try work(pipeline)
                        answer = job.flag.isCancelled ? cancelledAnswer(job) : .success(result)
                    } catch let error as ResponseError {
                        answer = .failure(error)
                    } catch {
                        logger.error("\(job.responder.id): \(Request.method) failed: \(error)")
                        answer = .failure(.internalError("\(Request.method) failed: \(error)"))
                    }
                }
            }
            finish(id: job.responder.id, uri: job.uri, flag: job.flag)
            if let progress = job.progress {
                state.withLock { _ = $0.progress.removeValue(forKey: progress.token) }
                switch answer {
                case .success: progress.finish("done")
                case .failure(let error): progress.finish(error.code == .requestCancelled ? "cancelled" : error.message)
                }
            }
            job.responder.send(answer)
        }
    }

    private func cancelledAnswer<Request>(_ job: ModelJob<Request>) -> Result<Request.Response, ResponseError> {
        job.flag.reason == .superseded ? job.whenSuperseded() : .failure(.requestCancelled)
    }

    /// Forgets a finished request's cancellation flag.
    func finish(id: RequestID, uri: DocumentURI?, flag: CancellationFlag) {
        state.withLock { state in
            if state.pending[id] === flag { state.pending[id] = nil }
            if let uri { state.removeCompletionWork(flag: flag, uri: uri) }
        }
    }
}
