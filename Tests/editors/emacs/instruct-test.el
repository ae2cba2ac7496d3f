;;; instruct-test.el --- editors/emacs/understudy-instruct.el against the fake server  -*- lexical-binding: t -*-

;; usage: FAKE_LOG=LOG emacs --batch -Q -l instruct-test.el FAKE_SERVER
;;
;; Edit with instruction through Eglot, with Tests/editors/nvim/fake_server.py as the server (as
;; the Neovim plugin's instruct test does): it offers understudy.instruct, answers it with a
;; workspace/applyEdit that puts "/* INSTRUCTION */ " before the selected text, refuses the
;; instruction "refuse" with an error, and logs every message it receives to $FAKE_LOG (one JSON
;; object a line) and the document as it sees it to $FAKE_LOG.doc. The real server's side of the
;; command is tested in Tests/LanguageServerTests/InstructTests.swift; eglot-test.el checks that a
;; model without a chat template is refused with its reason.

(load (expand-file-name "test-lib.el" (file-name-directory (or load-file-name buffer-file-name))))
(load (expand-file-name "../../../editors/emacs/understudy-instruct.el"
                        (file-name-directory (or load-file-name buffer-file-name))))
(require 'json)

(defconst understudy-test-source
  "def count_files(directory):
    return len(os.listdir(directory))
")

(defun understudy-test-log ()
  "The messages the fake server received so far, oldest first."
  (with-temp-buffer
    (insert-file-contents (getenv "FAKE_LOG"))
    (let ((json-object-type 'plist) (json-array-type 'list) (json-key-type 'keyword) messages)
      (dolist (line (split-string (buffer-string) "\n" t))
        (push (json-read-from-string line) messages))
      (nreverse messages))))

(defun understudy-test-instruct-requests ()
  "The understudy.instruct requests the fake server received."
  (cl-remove-if-not (lambda (m) (and (equal (plist-get m :method) "workspace/executeCommand")
                                     (equal (plist-get (plist-get m :params) :command) "understudy.instruct")))
                    (understudy-test-log)))

(defun understudy-test-synced-version ()
  "The document version of the last didOpen or didChange the fake server received."
  (let (version)
    (dolist (m (understudy-test-log) version)
      (when (member (plist-get m :method) '("textDocument/didOpen" "textDocument/didChange"))
        (setq version (plist-get (plist-get (plist-get m :params) :textDocument) :version))))))

(understudy-test-define-check "the server offers understudy.instruct"
  (unless (understudy-instruct-available-p)
    (understudy-test-fail "understudy.instruct is not offered")))

(understudy-test-define-check "understudy-instruct sends the region and version, and applies the edit as one undo step"
  ;; An edit typed first, so that the request must carry the version after it.
  (goto-char (point-max))
  (insert "# counted\n")
  (goto-char (point-min))
  (let* ((begin (point-min)) (end (line-end-position))
         (selected (buffer-substring-no-properties begin end))
         (before (buffer-string))
         (eglot-confirm-server-initiated-edits nil))
    (undo-boundary)
    (understudy-instruct begin end "add error handling")
    (understudy-test-wait "the edit to arrive" (lambda () (not (equal (buffer-string) before))) 30)
    (let ((expected (concat "/* add error handling */ " selected (substring before (- end (point-min))))))
      (unless (equal (buffer-string) expected)
        (understudy-test-fail "the buffer is %S, expected %S" (buffer-string) expected)))
    (let* ((request (car (last (understudy-test-instruct-requests))))
           (argument (car (plist-get (plist-get request :params) :arguments)))
           (range (plist-get argument :range)))
      (unless request (understudy-test-fail "no understudy.instruct reached the server"))
      (unless (equal (plist-get argument :instruction) "add error handling")
        (understudy-test-fail "the instruction sent is %S" (plist-get argument :instruction)))
      (unless (equal range '(:start (:line 0 :character 0) :end (:line 0 :character 27)))
        (understudy-test-fail "the range sent is %S, not the region" range))
      (unless (equal (plist-get argument :uri) (plist-get (eglot--TextDocumentIdentifier) :uri))
        (understudy-test-fail "the uri sent is %S" (plist-get argument :uri)))
      (let ((synced (understudy-test-synced-version)))
        (unless (equal (plist-get argument :version) synced)
          (understudy-test-fail "version %S sent, the server's document is at %S" (plist-get argument :version) synced))))
    ;; The server's copy follows the edit.
    (eglot--signal-textDocument/didChange)
    (understudy-test-wait "the server's document to follow the edit"
                          (lambda () (equal (with-temp-buffer (insert-file-contents (concat (getenv "FAKE_LOG") ".doc"))
                                                              (buffer-string))
                                            (buffer-string)))
                          10)
    (undo-boundary)
    (primitive-undo 1 (cdr buffer-undo-list))
    (unless (equal (buffer-string) before)
      (understudy-test-fail "one undo step leaves %S, not the text before the edit" (buffer-string)))))

(understudy-test-define-check "a refused instruction shows the server's reason and changes nothing"
  (let ((before (buffer-string)))
    (condition-case err
        (progn (understudy-instruct (point-min) (point-max) "refuse")
               (understudy-test-fail "a refused instruction raised no error"))
      (user-error
       (unless (string-match-p "shapes changed" (error-message-string err))
         (understudy-test-fail "the server's reason is not shown: %s" (error-message-string err)))
       (message "   %s" (error-message-string err))))
    (unless (equal before (buffer-string)) (understudy-test-fail "the buffer changed"))))

(understudy-test-define-check "an empty instruction is refused before anything is sent"
  (let ((sent (length (understudy-test-instruct-requests))) (before (buffer-string)))
    (condition-case err
        (progn (understudy-instruct (point-min) (point-max) "   ")
               (understudy-test-fail "an empty instruction raised no error"))
      (user-error (message "   %s" (error-message-string err))))
    (unless (= sent (length (understudy-test-instruct-requests)))
      (understudy-test-fail "an empty instruction reached the server"))
    (unless (equal before (buffer-string)) (understudy-test-fail "the buffer changed"))))

(understudy-test-define-check "M-x understudy-instruct without a region asks for one"
  (deactivate-mark)
  (condition-case err
      (progn (call-interactively #'understudy-instruct)
             (understudy-test-fail "it ran without a region"))
    (user-error
     (unless (string-match-p "select" (error-message-string err))
       (understudy-test-fail "the message does not say to select: %s" (error-message-string err)))
     (message "   %s" (error-message-string err)))))

(understudy-test-run "count.py" understudy-test-source
                     `("python3" ,(expand-file-name (nth 0 command-line-args-left))))
