"""The words of the patients' pages (web.self_service), in English and Spanish."""

TEXT = {
    "en": {
        "title": "Your appointment",
        "greeting": "Hello {first_name},",
        "appointment": "Your appointment at {clinic} on {date} at {time}.",
        "confirm_button": "Confirm my appointment",
        "cancel_button": "Ask the clinic to cancel",
        "cancel_note": "{clinic} will confirm the cancellation.",
        "done_confirm": "Thank you. {clinic} knows you are coming.",
        "done_cancel": "Thank you. We have asked {clinic} to cancel this appointment.",
        "already": "We already have your answer for this appointment. To change it, call "
                   "{clinic}.",
        "expired": "This link has expired: the appointment has passed or was changed. Please "
                   "call your clinic.",
        "invalid": "This link is not valid. Please use the link in your e-mail as it is, or "
                   "call your clinic.",
        "prefs_title": "How should we contact you?",
        "prefs_intro": "Choose how {clinic} sends you appointment messages.",
        "sms": "Text messages (SMS)", "email": "E-mail", "both": "Both",
        "none": "No messages",
        "save": "Save my choice",
        "saved": "Saved. We will use your choice from now on.",
        "unsubscribed": "You will get no more e-mails from us. You can choose again below.",
    },
    "es": {
        "title": "Su cita",
        "greeting": "Hola {first_name}:",
        "appointment": "Su cita en {clinic} el {date} a las {time}.",
        "confirm_button": "Confirmar mi cita",
        "cancel_button": "Pedir a la clínica que la cancele",
        "cancel_note": "{clinic} le confirmará la cancelación.",
        "done_confirm": "Gracias. {clinic} sabe que usted vendrá.",
        "done_cancel": "Gracias. Hemos pedido a {clinic} que cancele esta cita.",
        "already": "Ya tenemos su respuesta para esta cita. Para cambiarla, llame a {clinic}.",
        "expired": "Este enlace ha caducado: la cita ya pasó o cambió. Llame a su clínica.",
        "invalid": "Este enlace no es válido. Use el enlace de su correo tal cual, o llame a "
                   "su clínica.",
        "prefs_title": "¿Cómo prefiere que le contactemos?",
        "prefs_intro": "Elija cómo {clinic} le envía los mensajes de sus citas.",
        "sms": "Mensajes de texto (SMS)", "email": "Correo electrónico", "both": "Ambos",
        "none": "Ningún mensaje",
        "save": "Guardar mi elección",
        "saved": "Guardado. Usaremos su elección desde ahora.",
        "unsubscribed": "Ya no recibirá más correos. Puede elegir de nuevo abajo.",
    },
}


def text_for(language: str | None) -> dict:
    return TEXT.get((language or "en").split("-")[0].lower(), TEXT["en"])
