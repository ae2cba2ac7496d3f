;;; eglot-test.el --- Eglot against the real `understudy serve', in Emacs batch mode  -*- lexical-binding: t -*-

;; usage: emacs --batch -Q -l eglot-test.el BINARY MODEL
;;
;; Opens a Python file in a fresh directory, connects Eglot to `BINARY serve --model MODEL', and
;; runs each check in `understudy-test-checks' in order. A check is a function of no arguments
;; that signals an error (`understudy-test-fail') when something is wrong; add one with
;; `understudy-test-define-check'. Every wait is bounded; exits 0 when all checks passed.

(load (expand-file-name "test-lib.el" (file-name-directory (or load-file-name buffer-file-name))))

;; The file: the line being completed repeats the start of an earlier line, so the server's
;; answer does not depend on what the small default model happens to write.
(defconst understudy-test-source
  "import os


def count_files(directory):
    return len(os.listdir(directory))


def count_dirs(directory):
    return len(os.
")

;; What the server answered to textDocument/completion, recorded on the way to Eglot.
(defvar understudy-test-completions nil)
(advice-add 'jsonrpc-request :around
            (lambda (request connection method params &rest args)
              (let ((result (apply request connection method params args)))
                (when (eq method :textDocument/completion)
                  (push result understudy-test-completions))
                result)))

(understudy-test-define-check "completion-at-point offers the server's items"
  (goto-char (point-min))
  (search-forward "return len(os." (point-max) nil 2)
  (setq understudy-test-completions nil)
  (let* ((capf (or (eglot-completion-at-point) (understudy-test-fail "Eglot offers no completion here")))
         (start (nth 0 capf)) (end (nth 1 capf)) (table (nth 2 capf))
         (exit (plist-get (nthcdr 3 capf) :exit-function))
         (offered (all-completions (buffer-substring start end) table))
         (answer (car understudy-test-completions))
         (items (append (if (vectorp answer) answer (plist-get answer :items)) nil))
         (labels (mapcar (lambda (item) (plist-get item :label)) items)))
    (unless items (understudy-test-fail "the server answered no items: %S" answer))
    (unless (equal (sort (copy-sequence offered) #'string<) (sort (copy-sequence labels) #'string<))
      (understudy-test-fail "completion-at-point offers %S, the server answered %S" offered labels))
    (message "   offered: %S" (mapcar #'substring-no-properties offered))
    ;; Choose the first, as the completion UI does: insert it, then Eglot's exit function
    ;; applies the item's textEdit.
    (let ((choice (car offered)))
      (delete-region start end)
      (goto-char start)
      (insert choice)
      (funcall exit choice 'finished)
      (let ((line (buffer-substring (line-beginning-position) (line-end-position))))
        (unless (string-prefix-p "    return len(os." line)
          (understudy-test-fail "after choosing %S the line is %S" choice line))
        (unless (> (length line) (length "    return len(os."))
          (understudy-test-fail "choosing %S inserted nothing" choice))
        (message "   line after choosing the first: %S" line)))))

;; Eglot 1.9 cannot resolve a code action's edit, so the server offers each action as a command; running
;; it (as Eglot's own menu does) must end with the server's workspace/applyEdit changing the buffer.
(understudy-test-define-check "eglot-code-actions on a region applies an edit"
  (goto-char (point-min))
  (search-forward "def count_files")
  (let* ((begin (line-beginning-position)) (end (line-end-position))
         (before (buffer-string))
         (actions (eglot-code-actions begin end "refactor.rewrite"))
         (titles (mapcar (lambda (a) (plist-get a :title)) actions))
         (action (cl-find "Continue from here" actions :key (lambda (a) (plist-get a :title)) :test #'equal)))
    (unless action (understudy-test-fail "no \"Continue from here\" among %S" titles))
    (unless (plist-get action :command) (understudy-test-fail "the action carries no command: %S" action))
    (message "   offered: %S" titles)
    ;; Eglot asks before applying a server's edit; a user answers y, batch mode cannot.
    (let ((eglot-confirm-server-initiated-edits nil))
      (eglot--read-execute-code-action (list action) (eglot-current-server) "refactor.rewrite"))
    (understudy-test-wait "the edit to arrive" (lambda () (not (equal (buffer-string) before))) 60)
    (let* ((kept (- end (point-min))) (tail (- (length before) kept))
           (added (substring (buffer-string) kept (- (length (buffer-string)) tail))))
      (unless (and (string-prefix-p (substring before 0 kept) (buffer-string))
                   (string-suffix-p (substring before kept) (buffer-string)))
        (understudy-test-fail "the edit changed more than it inserted at the region's end: %S" (buffer-string)))
      (message "   inserted at the region's end: %S" added))))

;; Edit with instruction (editors/emacs/understudy-instruct.el): a model without a chat template
;; (the default student) does not offer it, and the helper says why; nothing changes.
(load (expand-file-name "../../../editors/emacs/understudy-instruct.el"
                        (file-name-directory (or load-file-name buffer-file-name))))

(understudy-test-define-check "understudy-instruct says why a model without a chat template cannot"
  (let ((before (buffer-string))
        (offered (append (plist-get (eglot--server-capable :executeCommandProvider) :commands) nil)))
    (when (member "understudy.instruct" offered)
      (understudy-test-fail "a model without a chat template offers understudy.instruct: %S" offered))
    (condition-case err
        (progn (understudy-instruct (point-min) (point-max) "add error handling")
               (understudy-test-fail "understudy-instruct ran on a model without a chat template"))
      (user-error
       (unless (string-match-p "no chat template" (error-message-string err))
         (understudy-test-fail "the reason is not given: %s" (error-message-string err)))
       (message "   %s" (error-message-string err))))
    (unless (equal before (buffer-string)) (understudy-test-fail "the buffer changed"))))

(let ((binary (expand-file-name (nth 0 command-line-args-left)))
      (model (expand-file-name (nth 1 command-line-args-left))))
  (understudy-test-run "files.py" understudy-test-source
                       `(,binary "serve" "--model" ,model "--threads" "1"
                                 :initializationOptions (:maxTokens 24 :timeBudgetMs 10000))))
