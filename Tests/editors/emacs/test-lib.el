;;; test-lib.el --- What the Emacs batch tests share  -*- lexical-binding: t -*-

;; A test file loads this, defines its checks with `understudy-test-define-check', and calls
;; `understudy-test-run'. A check is a function of no arguments that signals an error
;; (`understudy-test-fail') when something is wrong. Every wait is bounded.

(require 'package)
;; Debian's elpa-eglot (Emacs < 29) lives in the system package directory, which -Q leaves out;
;; Emacs 29+ has Eglot built in.
(add-to-list 'package-directory-list "/usr/share/emacs/site-lisp/elpa")
(setq package-user-dir (make-temp-file "understudy-elpa-" t))
(package-initialize)
(require 'eglot)
(require 'cl-lib)

(defvar understudy-test-checks nil "Checks to run, in order: (NAME . FUNCTION).")

(defmacro understudy-test-define-check (name &rest body)
  "Define a check called NAME (a string) running BODY in the test buffer."
  (declare (indent 1))
  `(setq understudy-test-checks
         (append understudy-test-checks (list (cons ,name (lambda () ,@body))))))

(defun understudy-test-fail (format-string &rest args)
  "Fail the current check with a message made from FORMAT-STRING and ARGS."
  (signal 'error (list (apply #'format format-string args))))

(defun understudy-test-wait (what predicate seconds)
  "Wait up to SECONDS for PREDICATE to return non-nil (returned); fail naming WHAT."
  (let ((deadline (+ (float-time) seconds)) value)
    (while (and (not (setq value (funcall predicate))) (< (float-time) deadline))
      (accept-process-output nil 0.05))
    (or value (understudy-test-fail "timed out after %d s waiting for %s" seconds what))))

(defun understudy-test-run (file-name source server)
  "Open FILE-NAME holding SOURCE in a fresh directory (Python mode), connect Eglot to SERVER (an
entry of `eglot-server-programs': the program, its arguments, then keywords), run every check in
order, and exit Emacs: 0 when all passed."
  (let* ((directory (make-temp-file "understudy-eglot-" t))
         (file (expand-file-name file-name directory))
         (jsonrpc-default-request-timeout 60)
         (eglot-connect-timeout 60)
         (eglot-sync-connect t)
         (eglot-server-programs `((python-mode . ,server)))
         (failed 0))
    (with-temp-file file (insert source))
    (find-file file)
    (python-mode)
    (apply #'eglot (eglot--guess-contact))
    (understudy-test-wait "Eglot to connect" (lambda () (eglot-current-server)) 60)
    (message "Emacs %s, Eglot connected to %s" emacs-version
             (plist-get (eglot--server-info (eglot-current-server)) :name))
    (dolist (check understudy-test-checks)
      (condition-case err
          (progn (funcall (cdr check)) (message "ok   %s" (car check)))
        (error (setq failed (1+ failed))
               (message "FAIL %s: %s" (car check) (error-message-string err)))))
    (ignore-errors (eglot-shutdown (eglot-current-server)))
    (delete-directory directory t)
    (delete-directory package-user-dir t)
    (kill-emacs (if (zerop failed) 0 1))))

(provide 'understudy-test-lib)
;;; test-lib.el ends here
