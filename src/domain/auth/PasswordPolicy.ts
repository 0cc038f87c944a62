/**
 * The password policy (NIST SP 800-63B, ASVS 6.2): length, a common-password list and the email,
 * nothing about composition. Pure: returns why a password is refused, or undefined.
 */
import { COMMON_PASSWORDS } from "./commonPasswords.js"
import { normaliseEmail } from "./User.js"

export const MIN_PASSWORD_LENGTH = 8
/** bcrypt reads 72 bytes: longer passwords are refused rather than silently truncated. */
export const MAX_PASSWORD_BYTES = 72

export const passwordProblem = (password: string, email: string): string | undefined => {
  if ([...password].length < MIN_PASSWORD_LENGTH) {
    return `Password must be at least ${MIN_PASSWORD_LENGTH} characters long`
  }
  if (new TextEncoder().encode(password).length > MAX_PASSWORD_BYTES) {
    return `Password must be at most ${MAX_PASSWORD_BYTES} bytes long in UTF-8`
  }
  const lowered = password.toLowerCase()
  if (COMMON_PASSWORDS.has(lowered)) {
    return "Password is too common; choose a less guessable one"
  }
  if (lowered === normaliseEmail(email)) {
    return "Password must not be the same as the email address"
  }
  return undefined
}
