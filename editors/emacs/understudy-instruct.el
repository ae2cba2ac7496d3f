;;; understudy-instruct.el --- Edit with instruction through Understudy's language server  -*- lexical-binding: t -*-

;; Usage: (load "/path/to/understudy/editors/emacs/understudy-instruct.el"), then, in a buffer
;; Eglot manages with `understudy serve', select a region and M-x understudy-instruct RET, type
;; the sentence ("add error handling") RET.  The server runs `understudy.instruct' on the region
;; and sends the edit back with workspace/applyEdit, which Eglot applies (it asks first unless
;; `eglot-confirm-server-initiated-edits' is nil).  The command is offered only when the server's
;; model has a chat template; otherwise this says why.

(require 'eglot)
(require 'jsonrpc)

(defun understudy-instruct-available-p (&optional server)
  "Non-nil when SERVER (default: the current one) offers understudy.instruct; else signal why not."
  (let* ((server (or server (eglot-current-server)))
         (caps (and server (eglot--capabilities server)))
         (commands (append (plist-get (plist-get caps :executeCommandProvider) :commands) nil)))
    (unless server (user-error "Understudy: no Eglot server for this buffer"))
    (or (member "understudy.instruct" commands)
        (user-error "Understudy: edit with instruction is not available: %s"
                    (or (plist-get (plist-get (plist-get caps :experimental) :instruct) :reason)
                        "the server does not offer understudy.instruct")))))

;;;###autoload
(defun understudy-instruct (beg end instruction)
  "Edit the region from BEG to END as INSTRUCTION says, with Understudy's model."
  (interactive
   (progn
     (unless (use-region-p) (user-error "Understudy: select the code to edit first"))
     (understudy-instruct-available-p)
     (list (region-beginning) (region-end) (read-string "Instruction: "))))
  (understudy-instruct-available-p)
  (when (string-blank-p instruction) (user-error "Understudy: the instruction is empty"))
  (when (fboundp 'eglot--signal-textDocument/didChange) (eglot--signal-textDocument/didChange))
  (let ((argument (append (eglot--VersionedTextDocumentIdentifier)
                          (list :range (list :start (eglot--pos-to-lsp-position beg)
                                             :end (eglot--pos-to-lsp-position end))
                                :instruction instruction))))
    (condition-case err
        (jsonrpc-request (eglot-current-server) :workspace/executeCommand
                         (list :command "understudy.instruct" :arguments (vector argument))
                         :timeout 600)
      (jsonrpc-error
       (user-error "Understudy: %s" (alist-get 'jsonrpc-error-message (cddr err)))))))

(provide 'understudy-instruct)
;;; understudy-instruct.el ends here
